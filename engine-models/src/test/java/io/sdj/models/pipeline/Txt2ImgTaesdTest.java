package io.sdj.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.verify.GoldenCase;
import io.sdj.weights.ModelSource;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The TAESD decoder path: the tiny reference pipeline plus the taesd-decoder case's weights as a {@code taesd_decoder}
 * component. TAESD takes UNet-space latents (not divided by the VAE scaling factor) and its output is only clamped.
 */
class Txt2ImgTaesdTest {

    /** A model source with one extra component. */
    private record WithComponent(ModelSource base, String name, JsonNode config, WeightSource weights) implements ModelSource {
        @Override public String kind() { return base.kind(); }
        @Override public List<String> components() {
            List<String> c = new ArrayList<>(base.components());
            c.add(name);
            return c;
        }
        @Override public JsonNode config(String c) { return c.equals(name) ? config : base.config(c); }
        @Override public WeightSource weights(String c) { return c.equals(name) ? weights : base.weights(c); }
        @Override public Map<String, String> tokenizerFiles() { return base.tokenizerFiles(); }
        @Override public JsonNode provenance() { return base.provenance(); }
        @Override public void close() { base.close(); }
    }

    @Test
    void decodesUnetSpaceLatentsWithTaesd() throws Exception {
        Path golden = GoldenCase.goldenDir();
        Path pipe = golden.resolve("pipeline-sd1-tiny"), taesdDir = golden.resolve("taesd-decoder");
        assumeTrue(Files.isDirectory(pipe) && Files.isDirectory(taesdDir), "golden cases pipeline-sd1-tiny / taesd-decoder not found under " + golden);
        try (Safetensors taesdWeights = Safetensors.open(taesdDir.resolve("model.safetensors"));
             Txt2Img p = PipelineLoader.fromSource(new WithComponent(ModelSource.open(pipe), "taesd_decoder",
                     new ObjectMapper().readTree(taesdDir.resolve("config.json").toFile()), taesdWeights), "tiny+taesd")) {
            assertThat(p.hasDecoder(DecoderKind.TAESD)).isTrue();
            Map<String, Tensor> seen = new HashMap<>();
            GenerationResult r = p.request().prompt("a fox").steps(1).sampler(io.sdj.models.sampling.SamplerKind.DDIM)
                    .guidance(1f).seed(52).size(64, 64).decoder(DecoderKind.TAESD).trace((n, t) -> seen.put(n, t.copy())).generate();
            Tensor latents = seen.get("step_latents.0");
            Tensor expected = TaesdDecoder.load(taesdWeights).forward(new Workspace(), latents, Trace.NONE);
            float[] e = expected.data(), got = seen.get("decoded").data();
            int outside = 0;
            for (int i = 0; i < expected.numel(); i++) {
                float clamped = Math.min(1f, Math.max(0f, e[i]));
                assertThat(got[i]).isEqualTo(clamped);
                if (e[i] < 0 || e[i] > 1) outside++;
            }
            assertThat(r.images().get(0).width()).isEqualTo(64);
            System.out.println("TAESD values clamped: " + outside + " of " + expected.numel());
        }
    }
}
