package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.clip.ClipTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer case: every prompt of {@code prompts.json} through {@link ClipTokenizer} with the case's
 * vocab/merges/config (SD1: EOS padding) and with {@code pad_token "!"} (SD2), plus the untruncated token streams.
 * The ftfy and openai-SimpleTokenizer variants are reported as not supported (this engine does not reimplement ftfy).
 */
public final class TokenizerCaseRunner implements ComponentRunner {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) throws IOException {
        String vocab = Files.readString(c.file("vocab.json"));
        String merges = Files.readString(c.file("merges.txt"));
        String config = Files.readString(c.file("tokenizer_config.json"));
        ClipTokenizer sd1 = ClipTokenizer.load(vocab, merges, config).withTruncationListener(m -> { });
        ObjectNode c2 = (ObjectNode) JSON.readTree(config);
        c2.put("pad_token", "!");
        ClipTokenizer sd2 = ClipTokenizer.load(vocab, merges, JSON.writeValueAsString(c2)).withTruncationListener(m -> { });
        List<String> prompts = new ArrayList<>();
        for (JsonNode p : JSON.readTree(c.file("prompts.json").toFile())) prompts.add(p.asText());
        int n = prompts.size(), len = sd1.maxLength();
        long[] ids = new long[n * len], mask = new long[n * len], lengths = new long[n];
        long[] ids2 = new long[n * len], lengths2 = new long[n];
        List<Long> flat = new ArrayList<>();
        long[] offsets = new long[n + 1];
        for (int i = 0; i < n; i++) {
            String p = prompts.get(i);
            int[] a = sd1.encode(p), b = sd2.encode(p);
            int la = sd1.encodedLength(p), lb = sd2.encodedLength(p);
            for (int j = 0; j < len; j++) {
                ids[i * len + j] = a[j];
                mask[i * len + j] = j < la ? 1 : 0;
                ids2[i * len + j] = b[j];
            }
            lengths[i] = la;
            lengths2[i] = lb;
            for (int t : sd1.tokenize(p)) flat.add((long) t);
            offsets[i + 1] = flat.size();
        }
        CaseOutputs out = new CaseOutputs();
        out.put("input_ids", Produced.ofLongs(ids, n, len));
        out.put("attention_mask", Produced.ofLongs(mask, n, len));
        out.put("lengths", Produced.ofLongs(lengths, n));
        out.put("input_ids_sd2", Produced.ofLongs(ids2, n, len));
        out.put("lengths_sd2", Produced.ofLongs(lengths2, n));
        out.put("tokens_flat", Produced.ofLongs(flat.stream().mapToLong(Long::longValue).toArray(), flat.size()));
        out.put("tokens_offsets", Produced.ofLongs(offsets, n + 1));
        out.unsupported("input_ids_ftfy", "ftfy text repair is not implemented; the primary target is transformers without ftfy");
        out.unsupported("input_ids_openai", "the openai SimpleTokenizer variant, ftfy + html.unescape, is not implemented");
        return out;
    }
}
