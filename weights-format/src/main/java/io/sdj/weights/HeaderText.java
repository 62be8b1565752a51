package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The JSON header of a weights file (safetensors or sdj), decoded as strictly as the safetensors reference: the bytes
 * must be valid UTF-8 (never silently replaced) and hold exactly one JSON object, optionally followed by whitespace.
 */
final class HeaderText {
    private HeaderText() {}

    static String decodeUtf8(Path path, byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new WeightsFormatException(path + ": header is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }

    /** Parses the header; {@code json} must fail on trailing tokens. */
    static JsonNode parseObject(Path path, ObjectMapper json, String text) {
        JsonNode header;
        try {
            header = json.readTree(text);
        } catch (com.fasterxml.jackson.databind.exc.MismatchedInputException e) {
            if (e.getMessage() != null && e.getMessage().contains("Trailing token")) {
                throw new WeightsFormatException(path + ": bytes after the header JSON object (only whitespace may follow it)", e);
            }
            throw new WeightsFormatException(path + ": header JSON is malformed: " + io.sdj.core.Quote.capped(e.getOriginalMessage()), e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String msg = e.getOriginalMessage();
            if (trailingAfterObject(text)) {
                throw new WeightsFormatException(path + ": bytes after the header JSON object (only whitespace may follow it)", e);
            }
            throw new WeightsFormatException(path + ": header JSON is malformed: " + io.sdj.core.Quote.capped(msg), e);
        }
        if (header == null || !header.isObject()) throw new WeightsFormatException(path + ": header is not a JSON object");
        return header;
    }

    /** Whether the text is a balanced object followed by something else (so the error is about trailing bytes). */
    private static boolean trailingAfterObject(String text) {
        int depth = 0;
        boolean inString = false, escaped = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') inString = false;
            } else if (c == '"') inString = true;
            else if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) return !text.substring(i + 1).isBlank();
            }
        }
        return false;
    }
}
