package io.sdj.models.clip;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The text clean-up the Hugging Face CLIP tokenizer applies when {@code ftfy} is not installed (its fallback
 * "basic tokenizer" with accent stripping and punctuation splitting turned off): drop NUL, U+FFFD and every
 * control/format/unassigned/private-use/surrogate code point, turn whitespace into plain spaces, put spaces around
 * CJK ideographs, normalise to NFC, split on whitespace, lower-case each word and join the words with single spaces.
 */
final class ClipTextNormalizer {
    private ClipTextNormalizer() {}

    static String normalize(String text) {
        StringBuilder cleaned = new StringBuilder(text.length() + 8);
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
            if (isWhitespace(cp)) {
                cleaned.append(' ');
            } else if (isCjkIdeograph(cp)) {
                cleaned.append(' ').appendCodePoint(cp).append(' ');
            } else {
                cleaned.appendCodePoint(cp);
            }
        });
        String nfc = Normalizer.normalize(cleaned, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder(nfc.length());
        for (String word : splitOnSpace(nfc)) {
            String lower = word.toLowerCase(Locale.ROOT);
            for (String part : splitOnSpace(lower)) {
                if (!out.isEmpty()) out.append(' ');
                out.append(part);
            }
        }
        return out.toString();
    }

    /** Whitespace as the clean-up step sees it: space, tab, newline, carriage return and the Zs category. */
    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    /** Categories C* (Cc, Cf, Cn, Co, Cs), except tab, newline and carriage return. */
    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.UNASSIGNED
                || t == Character.PRIVATE_USE || t == Character.SURROGATE;
    }

    /** Whitespace as a word split sees it (Python's {@code str.isspace}). */
    static boolean isSplitSpace(int cp) {
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F) || cp == 0x85) return true;
        int t = Character.getType(cp);
        return t == Character.SPACE_SEPARATOR || t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR;
    }

    static List<String> splitOnSpace(String s) {
        List<String> words = new ArrayList<>();
        int start = -1;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (isSplitSpace(cp)) {
                if (start >= 0) { words.add(s.substring(start, i)); start = -1; }
            } else if (start < 0) {
                start = i;
            }
            i += n;
        }
        if (start >= 0) words.add(s.substring(start));
        return words;
    }

    /** The CJK Unified Ideograph blocks (and compatibility ideographs) that get spaces around them. */
    static boolean isCjkIdeograph(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF)
                || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
