package io.sdj.models.clip;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The CLIP BPE tokenizer of Stable Diffusion 1.x/2.x, reproducing the Hugging Face slow {@code CLIPTokenizer} in an
 * environment without {@code ftfy}: special tokens are split out first (exact, case-sensitive), every other span is
 * cleaned by {@link ClipTextNormalizer}, cut by CLIP's pre-tokenisation pattern and byte-level BPE encoded.
 * {@link #encode} returns {@code [BOS] + ≤ (maxLength−2) ids + [EOS]} padded with the pad token to maxLength (77).
 * <p>Immutable and thread-safe. A prompt longer than the model can see is truncated and reported to the
 * truncation listener (by default a {@code java.util.logging} warning).
 */
public final class ClipTokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = Logger.getLogger(ClipTokenizer.class.getName());
    /** CLIP keeps 49152 − 256 − 2 merges (the first line of merges.txt is a version header). */
    private static final int MAX_MERGES = 49152 - 256 - 2;
    private static final Pattern PRE_TOKEN = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final Consumer<String> LOG_WARNING = LOG::warning;

    /** A special token as the tokenizer config declares it (strip flags eat whitespace beside it). */
    private record SpecialToken(String content, int id, boolean lstrip, boolean rstrip) {}

    private final Map<String, Integer> vocab;
    private final BytePairEncoder bpe;
    private final List<SpecialToken> specials;   // longest first
    private final int bosId, eosId, padId, unkId, maxLength;
    private final Consumer<String> truncationListener;

    private ClipTokenizer(Map<String, Integer> vocab, BytePairEncoder bpe, List<SpecialToken> specials,
                          int bosId, int eosId, int padId, int unkId, int maxLength, Consumer<String> listener) {
        this.vocab = vocab;
        this.bpe = bpe;
        this.specials = specials;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.unkId = unkId;
        this.maxLength = maxLength;
        this.truncationListener = listener;
    }

    /**
     * Builds a tokenizer from the contents (not paths) of {@code vocab.json}, {@code merges.txt} and
     * {@code tokenizer_config.json} (the last may be null: CLIP defaults, EOS padding, 77 tokens).
     */
    public static ClipTokenizer load(String vocabJson, String mergesTxt, String tokenizerConfigJson) {
        Objects.requireNonNull(vocabJson, "vocab.json");
        Objects.requireNonNull(mergesTxt, "merges.txt");
        Map<String, Integer> vocab = new HashMap<>();
        try {
            JsonNode v = JSON.readTree(vocabJson);
            if (v == null || !v.isObject()) throw new IllegalArgumentException("vocab.json: expected a JSON object of token → id");
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().canConvertToInt()) {
                    throw new IllegalArgumentException("vocab.json: token '" + e.getKey() + "' has non-integer id " + e.getValue());
                }
                vocab.put(e.getKey(), e.getValue().intValue());
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("vocab.json: not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode config;
        try {
            config = tokenizerConfigJson == null ? JSON.createObjectNode() : JSON.readTree(tokenizerConfigJson);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("tokenizer_config.json: not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (mergesTxt.isBlank()) throw new IllegalArgumentException("merges.txt is empty");
        BytePairEncoder bpe = BytePairEncoder.fromMerges(mergesTxt, MAX_MERGES);

        String bos = tokenContent(config.get("bos_token"), "<|startoftext|>");
        String eos = tokenContent(config.get("eos_token"), "<|endoftext|>");
        String unk = tokenContent(config.get("unk_token"), "<|endoftext|>");
        String pad = tokenContent(config.get("pad_token"), "<|endoftext|>");
        int maxLength = config.path("model_max_length").canConvertToInt() ? config.get("model_max_length").intValue() : 77;
        if (maxLength < 2 || maxLength > 4096) maxLength = 77;

        // special tokens: the added tokens of the config plus bos/eos/unk/pad (all are split out of the text)
        Map<String, SpecialToken> byContent = new HashMap<>();
        JsonNode added = config.path("added_tokens_decoder");
        for (Iterator<Map.Entry<String, JsonNode>> it = added.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode t = e.getValue();
            String content = t.path("content").asText();
            if (content.isEmpty()) continue;
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("tokenizer_config.json: added token id '" + e.getKey() + "' is not a number");
            }
            byContent.put(content, new SpecialToken(content, id, t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false)));
        }
        for (String name : List.of("bos_token", "eos_token", "unk_token", "pad_token")) {
            String content = tokenContent(config.get(name), name.equals("bos_token") ? bos : name.equals("eos_token") ? eos : name.equals("unk_token") ? unk : pad);
            if (byContent.containsKey(content)) continue;
            Integer id = vocab.get(content);
            if (id == null) throw new IllegalArgumentException("tokenizer: " + name + " '" + content + "' is not in vocab.json");
            JsonNode n = config.get(name);
            boolean l = n != null && n.isObject() && n.path("lstrip").asBoolean(false);
            boolean r = n != null && n.isObject() && n.path("rstrip").asBoolean(false);
            byContent.put(content, new SpecialToken(content, id, l, r));
        }
        List<SpecialToken> specials = new ArrayList<>(byContent.values());
        specials.sort((a, b) -> b.content().length() - a.content().length());
        return new ClipTokenizer(vocab, bpe, List.copyOf(specials),
                byContent.get(bos).id(), byContent.get(eos).id(), byContent.get(pad).id(), byContent.get(unk).id(),
                maxLength, LOG_WARNING);
    }

    private static String tokenContent(JsonNode n, String fallback) {
        if (n == null || n.isNull()) return fallback;
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.path("content").isTextual()) return n.get("content").asText();
        throw new IllegalArgumentException("tokenizer_config.json: cannot read special token " + n);
    }

    /** A tokenizer identical to this one whose truncation warnings go to {@code listener} instead of the log. */
    public ClipTokenizer withTruncationListener(Consumer<String> listener) {
        return new ClipTokenizer(vocab, bpe, specials, bosId, eosId, padId, unkId, maxLength, Objects.requireNonNull(listener));
    }

    /**
     * This tokenizer with its pad token as ordinary text when it is not also BOS, EOS or UNK, as open_clip's tokenizer
     * reads SD2 prompts: diffusers' SD2 tokenizer pads with {@code "!"} and therefore splits every {@code "!"} of the
     * text out as the pad id, open_clip (and so A1111) encodes it with the BPE like any other character.
     */
    public ClipTokenizer withOrdinaryPadToken() {
        if (padId == eosId || padId == bosId || padId == unkId) return this;
        List<SpecialToken> kept = specials.stream().filter(s -> s.id() != padId).toList();
        return new ClipTokenizer(vocab, bpe, kept, bosId, eosId, padId, unkId, maxLength, truncationListener);
    }

    public int maxLength() { return maxLength; }
    public int bosId() { return bosId; }
    public int eosId() { return eosId; }
    public int padId() { return padId; }
    public int vocabSize() { return vocab.size(); }

    /** The model input: {@code maxLength} ids, BOS + truncated tokens + EOS, then padding. */
    public int[] encode(String prompt) {
        int[] tokens = tokenize(prompt);
        int keep = Math.min(tokens.length, maxLength - 2);
        if (keep < tokens.length) {
            truncationListener.accept("prompt is longer than the " + (maxLength - 2) + " tokens the text encoder can see ("
                    + tokens.length + " tokens); it was truncated: the last " + (tokens.length - keep) + " tokens were dropped");
        }
        int[] ids = new int[maxLength];
        Arrays.fill(ids, padId);
        ids[0] = bosId;
        System.arraycopy(tokens, 0, ids, 1, keep);
        ids[keep + 1] = eosId;
        return ids;
    }

    /** Number of non-padding ids {@link #encode} produces for this prompt (BOS and EOS included). */
    public int encodedLength(String prompt) {
        return Math.min(tokenize(prompt).length, maxLength - 2) + 2;
    }

    /** The untruncated token ids of a prompt, without BOS/EOS. */
    public int[] tokenize(String prompt) {
        Objects.requireNonNull(prompt, "prompt");
        List<String> pieces = new ArrayList<>();
        List<Integer> pieceSpecial = new ArrayList<>();   // special id, or -1 for plain text
        splitSpecial(prompt, pieces, pieceSpecial);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < pieces.size(); i++) {
            if (pieceSpecial.get(i) >= 0) {
                out.add(pieceSpecial.get(i));
                continue;
            }
            String text = ClipTextNormalizer.normalize(pieces.get(i));
            Matcher m = PRE_TOKEN.matcher(text);
            while (m.find()) {
                String token = m.group();
                if (token.equals("<|startoftext|>") || token.equals("<|endoftext|>")) {
                    out.add(vocab.getOrDefault(token, unkId));
                    continue;
                }
                for (String symbol : bpe.encode(BytePairEncoder.byteEncode(token))) out.add(vocab.getOrDefault(symbol, unkId));
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Cuts the raw text at special tokens (leftmost, longest match), applying their whitespace-strip flags. */
    private void splitSpecial(String text, List<String> pieces, List<Integer> ids) {
        int start = 0, i = 0;
        while (i < text.length()) {
            SpecialToken hit = null;
            for (SpecialToken s : specials) {
                if (text.startsWith(s.content(), i)) { hit = s; break; }
            }
            if (hit == null) { i++; continue; }
            String left = text.substring(start, i);
            if (hit.lstrip()) left = left.stripTrailing();
            if (!left.isEmpty()) { pieces.add(left); ids.add(-1); }
            pieces.add(hit.content());
            ids.add(hit.id());
            i += hit.content().length();
            if (hit.rstrip()) while (i < text.length() && Character.isWhitespace(text.charAt(i))) i++;
            start = i;
        }
        if (start < text.length()) { pieces.add(text.substring(start)); ids.add(-1); }
    }
}
