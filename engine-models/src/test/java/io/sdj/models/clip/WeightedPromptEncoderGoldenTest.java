package io.sdj.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.verify.CaseOutputs;
import io.sdj.models.verify.Comparison;
import io.sdj.models.verify.GoldenCase;
import io.sdj.models.verify.PromptWeightingCaseRunner;
import io.sdj.models.verify.Produced;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A1111 prompt weighting against the {@code prompt-weighting-sd1-tiny} case (A1111's own code run on a tiny encoder). */
class WeightedPromptEncoderGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static GoldenCase golden(String name) {
        Path dir = GoldenCase.goldenDir().resolve(name);
        assumeTrue(Files.isDirectory(dir), "golden case " + name + " not found at " + dir + " (set -Dgolden.dir)");
        return GoldenCase.load(dir);
    }

    private static List<WeightedText> parsed(JsonNode p) {
        List<WeightedText> r = new ArrayList<>();
        for (JsonNode e : p) r.add(new WeightedText(e.get(0).asText(), e.get(1).asDouble()));
        return r;
    }

    private static ClipTokenizer tokenizer(String padToken) throws IOException {
        GoldenCase t = golden("tokenizer-clip");
        String config = Files.readString(t.file("tokenizer_config.json"));
        if (padToken != null) {
            ObjectNode c = (ObjectNode) JSON.readTree(config);
            c.put("pad_token", padToken);
            config = JSON.writeValueAsString(c);
        }
        return ClipTokenizer.load(Files.readString(t.file("vocab.json")), Files.readString(t.file("merges.txt")), config);
    }

    private static ClipTextModel textModel(String name) throws IOException {
        GoldenCase g = golden(name);
        return ClipTextModel.load(JSON.readTree(g.file("config.json").toFile()), Safetensors.open(g.file("model.safetensors")));
    }

    @Test
    void parsingMatchesA1111ForEveryRunAndParseOnlyPrompt() {
        GoldenCase c = golden("prompt-weighting-sd1-tiny");
        int n = 0;
        for (JsonNode r : c.json().path("runs")) {
            assertThat(PromptAttentionParser.parse(r.path("prompt").asText())).as(r.path("id").asText()).isEqualTo(parsed(r.path("parsed")));
            n++;
        }
        for (JsonNode p : c.json().path("parse_only")) {
            assertThat(PromptAttentionParser.parse(p.path("prompt").asText())).as(p.path("prompt").asText()).isEqualTo(parsed(p.path("parsed")));
            n++;
        }
        assertThat(n).isGreaterThan(50);
    }

    @Test
    void fragmentsChunksAndTokenCountsMatchA1111() throws IOException {
        GoldenCase c = golden("prompt-weighting-sd1-tiny");
        ClipTokenizer tok = tokenizer(null);
        PromptChunker chunker = new PromptChunker(tok);
        for (JsonNode r : c.json().path("runs")) {
            String id = r.path("id").asText();
            List<WeightedText> fragments = parsed(r.path("parsed"));
            JsonNode fids = r.path("fragment_ids");
            for (int i = 0; i < fragments.size(); i++) {
                int[] expected = new int[fids.get(i).size()];
                for (int j = 0; j < expected.length; j++) expected[j] = fids.get(i).get(j).asInt();
                assertThat(tok.tokenize(fragments.get(i).text())).as(id + " fragment " + i).containsExactly(expected);
            }
            PromptChunker.Chunks ch = chunker.chunk(fragments);
            assertThat(ch.chunks()).as(id).hasSize(r.path("chunks").asInt());
            assertThat(ch.tokenCount()).as(id).isEqualTo(r.path("token_count").asInt());
        }
    }

    /** Every output of every run through the verify runner: ids and multipliers exact, cond within tolerance. */
    @Test
    void everyOutputMatchesA1111() throws Exception {
        GoldenCase c = golden("prompt-weighting-sd1-tiny");
        CaseOutputs got = new PromptWeightingCaseRunner().run(c, true);
        int floats = 0, ints = 0;
        List<String> failures = new ArrayList<>();
        try (Safetensors out = Safetensors.open(c.file("outputs.safetensors"));
             Safetensors inter = Safetensors.open(c.file("intermediates.safetensors"))) {
            for (String name : out.entries().keySet()) {
                Produced p = got.outputs().get(name);
                assertThat(p).as(name).isNotNull();
                assertThat(p.shape()).as(name).containsExactly(out.entry(name).intShape());
                if (out.entry(name).dtype().startsWith("I")) {
                    assertThat(p.longs()).as(name).containsExactly(out.longs(name));
                    ints++;
                } else if (name.endsWith("/multipliers")) {
                    assertThat(p.floats()).as(name).containsExactly(out.floats(name));
                    floats++;
                } else {
                    Comparison cmp = Comparison.of(name, p.floats(), out.floats(name), c.tolerance(name));
                    System.out.println(c.name() + " " + cmp);
                    if (!cmp.passed()) failures.add(cmp.toString());
                    floats++;
                }
            }
            for (String name : inter.entries().keySet()) {
                Produced p = got.intermediates().get(name);
                assertThat(p).as(name).isNotNull();
                Comparison cmp = Comparison.of(name, p.floats(), inter.floats(name), c.tolerance(name.replace("z_raw", "cond")));
                if (!cmp.passed()) failures.add("intermediate " + cmp);
            }
        }
        assertThat(failures).isEmpty();
        assertThat(ints).isGreaterThanOrEqualTo(19);
        assertThat(floats).isGreaterThanOrEqualTo(39);
    }

    /** No parsing and one chunk: exactly the embeddings of the one-row encode the pipeline did before (CFG pair too). */
    @Test
    void aPlainPromptOfAtMost75TokensGivesExactlyTheUnchunkedEmbeddings() throws IOException {
        ClipTokenizer tok = tokenizer(null);
        ClipTextModel model = textModel("text-encoder-sd1-tiny");
        String prompt = "a photograph of an astronaut riding a horse on mars, highly detailed", negative = "blurry";
        Workspace ws = new Workspace();
        for (PromptSyntax s : PromptSyntax.values()) {
            WeightedPromptEncoder enc = new WeightedPromptEncoder(tok, model, s);
            Tensor pair = enc.encode(ws, List.of(negative, prompt), 0, 1, Trace.NONE);
            Tensor before = model.forward(ws, new int[][]{tok.encode(negative), tok.encode(prompt)}, Trace.NONE).lastHiddenState();
            assertThat(pair.shape()).containsExactly(before.shape());
            assertThat(pair.toArray()).as(s.name()).containsExactly(before.toArray());
            Tensor skip = enc.encode(ws, List.of(prompt), 1, 1, Trace.NONE);
            assertThat(skip.toArray()).containsExactly(model.forward(ws, new int[][]{tok.encode(prompt)}, Trace.NONE).clipSkip1().toArray());
        }
    }

    @Test
    void promptAndNegativeWithDifferentChunkCountsArePaddedWithTheEmptyPrompt() throws IOException {
        ClipTokenizer tok = tokenizer(null);
        ClipTextModel model = textModel("text-encoder-sd1-tiny");
        WeightedPromptEncoder enc = new WeightedPromptEncoder(tok, model, PromptSyntax.A1111);
        String longPrompt = "red fox, snow, forest, (sunlight:1.2), ".repeat(18);
        int k = enc.tokenize(longPrompt).chunks().size();
        assertThat(k).isEqualTo(3);   // 18 × 9 tokens, cut at commas
        Workspace ws = new Workspace();
        Tensor both = enc.encode(ws, List.of("blurry", longPrompt), 0, 1, Trace.NONE);
        assertThat(both.shape()).containsExactly(2, 3 * 77, 24);
        Tensor alone = enc.encode(ws, List.of(longPrompt), 0, 1, Trace.NONE);
        Tensor neg = enc.encode(ws, List.of("blurry"), 0, 1, Trace.NONE);
        Tensor empty = enc.encode(ws, List.of(""), 0, 1, Trace.NONE);
        float[] b = both.data();
        int row = 77 * 24;
        assertClose(Arrays.copyOfRange(b, 3 * row, 6 * row), alone.toArray());
        assertClose(Arrays.copyOfRange(b, 0, row), neg.toArray());
        assertClose(Arrays.copyOfRange(b, row, 2 * row), empty.toArray());
        assertClose(Arrays.copyOfRange(b, 2 * row, 3 * row), empty.toArray());
    }

    /** SD2: '!' is text (not the pad id) under the A1111 syntax, and positions after a chunk's first EOS are 0. */
    @Test
    void sd2ReadsExclamationMarksAsTextAndPadsWithZero() throws IOException {
        ClipTokenizer sd2 = tokenizer("!");
        assertThat(sd2.padId()).isZero();
        ClipTextModel model = textModel("text-encoder-sd2-tiny");
        WeightedPromptEncoder a1111 = new WeightedPromptEncoder(sd2, model, PromptSyntax.A1111);
        WeightedPromptEncoder plain = new WeightedPromptEncoder(sd2, model, PromptSyntax.PLAIN);
        PromptChunk c = a1111.tokenize("wow!! a cat").chunks().get(0);
        int[] tokens = c.tokens(), input = a1111.modelInput(c);
        assertThat(tokens).contains(748).doesNotContain(0);                  // "!!" is one BPE token
        int eos = Arrays.stream(tokens).boxed().toList().indexOf(sd2.eosId());
        assertThat(tokens[eos + 1]).isEqualTo(sd2.eosId());                  // EOS-padded chunk ...
        assertThat(Arrays.copyOfRange(input, eos + 1, 77)).containsOnly(0);  // ... becomes 0-padded for the encoder
        assertThat(plain.tokenize("wow!! a cat").chunks().get(0).tokens()).contains(0, 0);   // diffusers: '!' is the pad id
        // a plain prompt without '!' gives diffusers' embeddings exactly
        Workspace ws = new Workspace();
        assertThat(a1111.encode(ws, List.of("a cat on a mat"), 0, 1, Trace.NONE).toArray())
                .containsExactly(model.forward(ws, new int[][]{sd2.encode("a cat on a mat")}, Trace.NONE).lastHiddenState().toArray());
    }

    @Test
    void aBadWeightIsAOneLineError() {
        assertThatThrownBy(() -> PromptAttentionParser.parse("a (cat:1.2.3)"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight '1.2.3' is not a number");
    }

    private static void assertClose(float[] got, float[] ref) {
        assertThat(got.length).isEqualTo(ref.length);
        for (int i = 0; i < got.length; i++) assertThat(Math.abs(got[i] - ref[i])).as("index " + i).isLessThanOrEqualTo(1e-5f);
    }
}
