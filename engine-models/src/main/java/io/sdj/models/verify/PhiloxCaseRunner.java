package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.models.sampling.PhiloxGenerator;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code rng_philox} case: every {@code calls[]} entry on a {@link PhiloxGenerator}. Entries with the same
 * {@code sequence} share one generator (their {@code draw_index} must be its next draw); a stacked entry
 * ({@code draws}) makes its draws in order on a fresh generator; any other entry is draw 0 of a fresh generator. Seeds
 * are read as unsigned 64-bit integers. Intermediates: the Philox words of {@code philox_words_seed<S>_offset<k>}.
 */
public final class PhiloxCaseRunner implements ComponentRunner {
    private static final Pattern WORDS = Pattern.compile("philox_words_seed(\\d+)_offset(\\d+)");

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        CaseOutputs out = new CaseOutputs();
        Map<String, PhiloxGenerator> sequences = new HashMap<>();
        for (JsonNode call : c.json().path("calls")) {
            String name = call.path("output").asText();
            long seed = unsignedSeed(call.path("seed"), name);
            int[] shape = shape(call.path("shape"));
            if (call.has("draws")) {
                PhiloxGenerator g = new PhiloxGenerator(seed);
                float[] all = new float[(int) io.sdj.core.Tensor.numel(shape)];
                int at = 0;
                for (JsonNode d : call.path("draws")) {
                    float[] v = g.randn(shape(d));
                    System.arraycopy(v, 0, all, at, v.length);
                    at += v.length;
                }
                if (at != all.length) throw new IllegalArgumentException(name + ": the draws hold " + at + " values, the shape " + all.length);
                out.put(name, Produced.of(all, shape));
                continue;
            }
            PhiloxGenerator g = call.has("sequence")
                    ? sequences.computeIfAbsent(call.path("sequence").asText(), k -> new PhiloxGenerator(seed))
                    : new PhiloxGenerator(seed);
            int k = call.path("draw_index").asInt(0);
            if (g.drawCount() != k) {
                throw new IllegalArgumentException(name + ": draw_index " + k + " but its generator has made " + g.drawCount() + " draws (calls out of order)");
            }
            out.put(name, Produced.of(g.randn(shape), shape));
        }
        if (intermediates && java.nio.file.Files.isRegularFile(c.file("intermediates.safetensors"))) {
            java.util.Set<String> names;
            try (io.sdj.weights.Safetensors ref = io.sdj.weights.Safetensors.open(c.file("intermediates.safetensors"))) {
                names = new java.util.LinkedHashSet<>(ref.entries().keySet());
            }
            for (String name : names) {
                Matcher m = WORDS.matcher(name);
                if (!m.matches()) continue;
                long seed = new java.math.BigInteger(m.group(1)).longValue();
                int k = Integer.parseInt(m.group(2)), n = 8;
                long[] words = new long[4 * n];
                for (int i = 0; i < n; i++) {
                    int[] w = PhiloxGenerator.words(seed, k, i);
                    for (int r = 0; r < 4; r++) words[r * n + i] = w[r] & 0xFFFFFFFFL;
                }
                out.putIntermediate(name, Produced.ofLongs(words, 4, n));
            }
        }
        return out;
    }

    /** A JSON integer in [0, 2^64) as the 64-bit pattern. */
    static long unsignedSeed(JsonNode s, String where) {
        if (!s.isIntegralNumber()) throw new IllegalArgumentException(where + ": seed " + s + " is not an integer");
        java.math.BigInteger b = s.bigIntegerValue();
        if (b.signum() < 0 || b.bitLength() > 64) throw new IllegalArgumentException(where + ": seed " + b + " is outside [0, 2^64)");
        return b.longValue();
    }

    private static int[] shape(JsonNode s) {
        int[] r = new int[s.size()];
        for (int i = 0; i < r.length; i++) r[i] = s.get(i).asInt();
        return r;
    }
}
