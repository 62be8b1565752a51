package io.sdj.models.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.verify.Comparison;
import io.sdj.models.verify.GoldenCase;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The CLIP text encoder against the {@code text-encoder-sd1-tiny} / {@code text-encoder-sd2-tiny} reference cases. */
class ClipTextModelGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static GoldenCase golden(String name) {
        Path dir = GoldenCase.goldenDir().resolve(name);
        assumeTrue(Files.isDirectory(dir), "golden case " + name + " not found at " + dir + " (set -Dgolden.dir)");
        return GoldenCase.load(dir);
    }

    private static int[][] rows(long[] flat, int rows) {
        int t = flat.length / rows;
        int[][] ids = new int[rows][t];
        for (int i = 0; i < rows; i++) for (int j = 0; j < t; j++) ids[i][j] = Math.toIntExact(flat[i * t + j]);
        return ids;
    }

    @ParameterizedTest
    @ValueSource(strings = {"text-encoder-sd1-tiny", "text-encoder-sd2-tiny"})
    void outputsMatchReference(String name) throws IOException {
        GoldenCase g = golden(name);
        try (Safetensors model = Safetensors.open(g.file("model.safetensors"));
             Safetensors in = Safetensors.open(g.file("inputs.safetensors"));
             Safetensors out = Safetensors.open(g.file("outputs.safetensors"));
             Safetensors inter = Safetensors.open(g.file("intermediates.safetensors"))) {
            ClipTextModel m = ClipTextModel.load(JSON.readTree(g.file("config.json").toFile()), model);
            int batch = (int) in.entry("input_ids").shape()[0];
            int[][] ids = rows(in.longs("input_ids"), batch);
            Map<String, float[]> traced = new HashMap<>();
            ClipTextOutput o = m.forward(new Workspace(), ids, (n, t) -> traced.put(n, t.toArray()));

            List<Comparison> results = new ArrayList<>();
            for (String n : inter.names()) {
                assertThat(traced).as("traced intermediates").containsKey(n);
                System.out.println(name + " intermediate " + Comparison.of(n, traced.get(n), inter.floats(n), g.tolerance(n)));
            }
            results.add(compare(g, out, "last_hidden_state", o.lastHiddenState()));
            results.add(compare(g, out, "pooler_output", o.pooled()));
            results.add(compare(g, out, "hidden_states_penultimate", o.penultimate()));
            results.add(compare(g, out, "clip_skip_1", o.clipSkip1()));
            results.forEach(r -> System.out.println(name + " " + r));
            assertThat(results).allMatch(Comparison::passed, "all outputs within tolerance");
        }
    }

    private static Comparison compare(GoldenCase g, Safetensors out, String name, Tensor t) {
        long[] shape = out.entry(name).shape();
        int[] want = new int[shape.length];
        for (int i = 0; i < shape.length; i++) want[i] = (int) shape[i];
        assertThat(t.shape()).as(name + " shape").isEqualTo(want);
        return Comparison.of(name, t.toArray(), out.floats(name), g.tolerance(name));
    }

    /** The tokenizer turns the case's prompts into exactly the ids the case feeds the encoder (SD1: EOS pad, SD2: 0 pad). */
    @ParameterizedTest
    @ValueSource(strings = {"text-encoder-sd1-tiny", "text-encoder-sd2-tiny"})
    void tokenizerProducesTheCaseInputIds(String name) throws IOException {
        GoldenCase g = golden(name);
        Path tok = GoldenCase.goldenDir().resolve("tokenizer-clip");
        assumeTrue(Files.isDirectory(tok), "golden case tokenizer-clip not found");
        ObjectNode config = (ObjectNode) JSON.readTree(Files.readString(tok.resolve("tokenizer_config.json")));
        if (name.contains("sd2")) config.put("pad_token", "!");
        ClipTokenizer t = ClipTokenizer.load(Files.readString(tok.resolve("vocab.json")), Files.readString(tok.resolve("merges.txt")),
                JSON.writeValueAsString(config)).withTruncationListener(m -> { });
        try (Safetensors in = Safetensors.open(g.file("inputs.safetensors"))) {
            long[] flat = in.longs("input_ids");
            int i = 0;
            for (var p : g.json().path("prompts")) {
                int[] got = t.encode(p.asText());
                for (int j = 0; j < 77; j++) assertThat((long) got[j]).as("prompt %d id %d", i, j).isEqualTo(flat[i * 77 + j]);
                i++;
            }
            assertThat(i * 77).isEqualTo(flat.length);
        }
    }
}
