package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.clip.ClipTokenizer;
import io.sdj.models.clip.PromptChunk;
import io.sdj.models.clip.PromptChunker;
import io.sdj.models.clip.PromptSyntax;
import io.sdj.models.clip.WeightedPromptEncoder;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code prompt_weighting} case: every run's prompt through {@link WeightedPromptEncoder} with the A1111 syntax,
 * on the text encoder and tokenizer the case names ({@code text_encoders.<key>}, {@code tokenizer}: other cases,
 * found beside this one or in the golden folder and checked by their sha256). Outputs: {@code input_ids} and
 * {@code multipliers} of every chunk, {@code cond}, and {@code cond_padded} for runs with {@code pad_to_chunks};
 * intermediates {@code z_raw} and (SD2) {@code chunk_tokens}. A1111's Clip skip n is this engine's clip skip n − 1;
 * SD2 ignores it, as A1111 does.
 */
public final class PromptWeightingCaseRunner implements ComponentRunner {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) throws IOException {
        CaseOutputs out = new CaseOutputs();
        JsonNode tokCase = c.json().path("tokenizer");
        Path tokDir = referencedCase(c, tokCase);
        String vocab = Files.readString(tokDir.resolve("vocab.json")), merges = Files.readString(tokDir.resolve("merges.txt"));
        Path tokConfig = tokDir.resolve("tokenizer_config.json");
        String config = Files.isRegularFile(tokConfig) ? Files.readString(tokConfig) : null;
        Map<String, Encoder> encoders = new LinkedHashMap<>();
        List<ConvertedModel> open = new ArrayList<>();
        try {
            Workspace ws = new Workspace();
            for (String run : c.runNames()) {
                JsonNode r = c.run(run);
                String key = r.path("encoder").asText();
                Encoder e = encoders.get(key);
                if (e == null) {
                    JsonNode te = c.json().path("text_encoders").path(key);
                    if (te.isMissingNode()) throw new IllegalArgumentException(run + ": text encoder '" + key + "' is not in text_encoders");
                    String flavour = te.path("flavour").asText("sd1");
                    ConvertedModel m = ConvertedModel.of(referencedCase(c, te));
                    open.add(m);
                    String comp = m.onlyComponent();
                    ClipTextModel model = ClipTextModel.load(m.model().config(comp), m.model().weights(comp));
                    ClipTokenizer tok = ClipTokenizer.load(vocab, merges, flavour.equals("sd2") ? sd2Config(config) : config);
                    e = new Encoder(new WeightedPromptEncoder(tok, model, PromptSyntax.A1111), flavour.equals("sd2"));
                    encoders.put(key, e);
                }
                int a1111Skip = r.path("clip_skip").asInt(1);
                int clipSkip = e.sd2 ? 0 : a1111Skip - 1;
                if (clipSkip < 0 || clipSkip > 1) throw new UnsupportedOperationException(run + ": Clip skip " + a1111Skip + " (only 1 and 2)");
                String prompt = r.path("prompt").asText();
                PromptChunker.Chunks chunks = e.encoder.tokenize(prompt);
                int k = chunks.chunks().size();
                long[] ids = new long[k * 77], raw = new long[k * 77];
                float[] mult = new float[k * 77];
                for (int i = 0; i < k; i++) {
                    PromptChunk ch = chunks.chunks().get(i);
                    int[] in = e.encoder.modelInput(ch), t = ch.tokens();
                    float[] m = ch.multipliers();
                    for (int j = 0; j < 77; j++) {
                        ids[i * 77 + j] = in[j];
                        raw[i * 77 + j] = t[j];
                        mult[i * 77 + j] = m[j];
                    }
                }
                out.put(run + "/input_ids", Produced.ofLongs(ids, k, 77));
                out.put(run + "/multipliers", Produced.of(mult, k, 77));
                Trace trace = intermediates ? (name, t) -> out.putIntermediate(run + "/" + name, Produced.of(t)) : Trace.NONE;
                if (intermediates && e.sd2) out.putIntermediate(run + "/chunk_tokens", Produced.ofLongs(raw, k, 77));
                Tensor cond = e.encoder.encode(ws, List.of(prompt), clipSkip, 1, trace);
                out.put(run + "/cond", Produced.of(cond));
                if (r.has("pad_to_chunks")) {
                    out.put(run + "/cond_padded", Produced.of(e.encoder.encode(ws, List.of(prompt), clipSkip, r.path("pad_to_chunks").asInt(), Trace.NONE)));
                }
            }
        } finally {
            for (ConvertedModel m : open) m.close();
        }
        return out;
    }

    private record Encoder(WeightedPromptEncoder encoder, boolean sd2) { }

    /** The tokenizer config with diffusers' SD2 padding ({@code "!"}, id 0); the encoder reads "!" as text anyway. */
    private static String sd2Config(String config) throws IOException {
        ObjectNode c = config == null ? JSON.createObjectNode() : (ObjectNode) JSON.readTree(config);
        c.put("pad_token", "!");
        return JSON.writeValueAsString(c);
    }

    /**
     * The folder of a case another case refers to ({@code {"root", "case", "files": {name: sha256}}}): beside this
     * case, in the golden folder, or in {@code shared/golden} next to a hidden fixture folder — the first whose files
     * have the given digests.
     */
    static Path referencedCase(GoldenCase c, JsonNode ref) {
        String name = ref.path("case").asText();
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals("..")) {
            throw new IllegalArgumentException(c.name() + ": bad case reference " + ref);
        }
        Path parent = c.dir().toAbsolutePath().getParent();
        List<Path> candidates = new ArrayList<>(List.of(parent.resolve(name), GoldenCase.goldenDir().resolve(name)));
        if (parent.getParent() != null && parent.getParent().getParent() != null) {
            candidates.add(parent.getParent().getParent().resolve("shared").resolve("golden").resolve(name));
        }
        String mismatch = null;
        for (Path p : candidates) {
            if (!Files.isDirectory(p)) continue;
            mismatch = digestMismatch(p, ref.path("files"));
            if (mismatch == null) return p;
        }
        throw new IllegalArgumentException(c.name() + ": referenced case '" + name + "' " + (mismatch != null ? mismatch : "not found in " + candidates));
    }

    private static String digestMismatch(Path dir, JsonNode files) {
        for (var it = files.fields(); it.hasNext(); ) {
            var f = it.next();
            Path p = dir.resolve(f.getKey());
            if (!Files.isRegularFile(p)) return "has no " + f.getKey() + " (" + dir + ")";
            String got = sha256(p);
            if (!got.equalsIgnoreCase(f.getValue().asText())) return dir.resolve(f.getKey()) + ": sha256 " + got + " is not the expected " + f.getValue().asText();
        }
        return null;
    }

    private static String sha256(Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
            return HexFormat.of().formatHex(d.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(p + ": cannot read: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
