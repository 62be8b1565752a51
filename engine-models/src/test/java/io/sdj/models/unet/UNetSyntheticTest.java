package io.sdj.models.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.blocks.SyntheticWeights;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every bundled topology (SD 1.5, BK-SDM Base/Small/Tiny and v2 variants) built from its config with synthetic
 * weights and run. Widths are divided by 8 (cross_attention_dim too, 8 groups) to keep CI fast; block types, layer
 * counts, head counts, projection kind and mid block are the bundled file's own.
 */
class UNetSyntheticTest {

    static JsonNode narrowed(String name) {
        ObjectNode j = (ObjectNode) UNetConfig.bundled(name);
        ArrayNode ch = j.putArray("block_out_channels");
        for (JsonNode c : UNetConfig.bundled(name).get("block_out_channels")) ch.add(c.asInt() / 8);
        j.put("cross_attention_dim", j.get("cross_attention_dim").asInt() / 8);
        j.put("norm_num_groups", 8);
        return j;
    }

    static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) (2 * r.nextDouble() - 1);
        return t;
    }

    @Test
    void everyBundledTopologyBuildsAndRuns() {
        for (String name : UNetConfig.BUNDLED) {
            JsonNode json = narrowed(name);
            UNetConfig c = UNetConfig.fromJson(json);
            SyntheticWeights w = new SyntheticWeights(1);
            UNet2DConditionModel unet = UNet2DConditionModel.load(json, w);
            // The cost walk and the model's construction agree on every parameter.
            assertThat(w.parameters()).as(name).isEqualTo(UNetCost.parameters(c));
            Workspace ws = new Workspace();
            Tensor out = unet.forward(ws, random(2, 1, 4, 8, 8), new float[]{500}, random(3, 1, 7, c.crossAttentionDim()[0]), null, Trace.NONE);
            assertThat(out.shape()).as(name).containsExactly(1, 4, 8, 8);
            double sq = 0;
            for (int i = 0; i < out.numel(); i++) {
                assertThat(Float.isFinite(out.data()[i])).as(name).isTrue();
                sq += out.data()[i] * out.data()[i];
            }
            double rms = Math.sqrt(sq / out.numel());
            assertThat(rms).as(name + " output rms (synthetic weights keep activations sane)").isBetween(1e-3, 1e3);
        }
    }

    @Test
    void steadyStateForwardAllocatesNoWorkspaceBuffers() {
        JsonNode json = narrowed("sd15");
        UNet2DConditionModel unet = UNet2DConditionModel.load(json, new SyntheticWeights(5));
        Workspace ws = new Workspace();
        Tensor x = random(6, 2, 4, 9, 7);                 // odd sizes: upsampling to skip sizes
        Tensor ctx = random(7, 2, 5, 96);
        float[] t = {999, 1};
        Tensor first = unet.forward(ws, x, t, ctx, null, Trace.NONE);
        float[] firstValues = first.toArray();
        ws.release(first);
        long allocations = ws.allocations(), takes = ws.takes();
        Tensor second = unet.forward(ws, x, t, ctx, null, Trace.NONE);
        assertThat(ws.takes()).isGreaterThan(takes);
        assertThat(ws.allocations()).as("fresh workspace buffers in the second forward").isEqualTo(allocations);
        assertThat(second.toArray()).containsExactly(firstValues);
        ws.release(second);
    }

    @Test
    void oneAndTwoThreadsGiveBitIdenticalOutputs() {
        JsonNode json = narrowed("bk-sdm-v2-small");
        UNet2DConditionModel unet = UNet2DConditionModel.load(json, new SyntheticWeights(8));
        Tensor x = random(9, 2, 4, 6, 10);
        Tensor ctx = random(10, 2, 4, 128);
        int before = Parallel.threads();
        try {
            Parallel.setThreads(1);
            float[] one = unet.forward(new Workspace(), x, new float[]{10, 700}, ctx, null, Trace.NONE).toArray();
            Parallel.setThreads(2);
            float[] two = unet.forward(new Workspace(), x, new float[]{10, 700}, ctx, null, Trace.NONE).toArray();
            assertThat(two).containsExactly(one);
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void syntheticWeightsAreDeterministicAndScaledByFanIn() {
        WeightTensor a = new SyntheticWeights(42).create("down_blocks.0.resnets.0.conv1.weight", 64, 32, 3, 3);
        WeightTensor b = ((SyntheticWeights) new SyntheticWeights(42).at("down_blocks.0")).create("resnets.0.conv1.weight", 64, 32, 3, 3);
        WeightTensor other = new SyntheticWeights(43).create("down_blocks.0.resnets.0.conv1.weight", 64, 32, 3, 3);
        assertThat(a.toFloats()).containsExactly(b.toFloats());
        assertThat(a.toFloats()).isNotEqualTo(other.toFloats());
        assertThat(a.data().isNative()).as("off-heap").isTrue();
        double sq = 0;
        for (float v : a.toFloats()) sq += v * v;
        assertThat(sq / a.numel()).isBetween(0.9 / (32 * 9), 1.1 / (32 * 9));
        float[] gamma = new SyntheticWeights(1).create("norm1.weight", 64).toFloats();
        for (float g : gamma) assertThat(g).isBetween(0.9f, 1.1f);
    }

    @Test
    void badInputsGetClearErrors() {
        JsonNode json = narrowed("bk-sdm-tiny");
        UNet2DConditionModel unet = UNet2DConditionModel.load(json, new SyntheticWeights(1));
        Workspace ws = new Workspace();
        assertThatThrownBy(() -> unet.forward(ws, random(1, 1, 4, 8, 8), new float[]{1}, random(1, 1, 7, 64), null, Trace.NONE))
                .hasMessageContaining("cross_attention_dim").hasMessageContaining("96");
        assertThatThrownBy(() -> unet.forward(ws, random(1, 1, 3, 8, 8), new float[]{1}, random(1, 1, 7, 96), null, Trace.NONE))
                .hasMessageContaining("UNet sample channels");
        assertThatThrownBy(() -> unet.forward(ws, random(1, 2, 4, 8, 8), new float[]{1, 2, 3}, random(1, 2, 7, 96), null, Trace.NONE))
                .hasMessageContaining("3 timesteps for a batch of 2");
        assertThatThrownBy(() -> unet.forward(ws, random(1, 1, 4, 8, 8), new float[]{1}, random(1, 1, 7, 96), random(1, 1, 256), Trace.NONE))
                .hasMessageContaining("time_cond_proj_dim");
    }

    @Test
    void missingOrMisshapenWeightsAreNamed() {
        JsonNode json = narrowed("bk-sdm-tiny");
        SyntheticWeights w = new SyntheticWeights(1);
        UNet2DConditionModel.load(json, w);
        io.sdj.core.WeightSource missing = new io.sdj.core.WeightSource() {
            @Override public WeightTensor get(String name) { return w.get(name); }
            @Override public boolean contains(String name) { return !name.equals("down_blocks.1.attentions.0.proj_in.weight") && w.contains(name); }
            @Override public java.util.Set<String> names() { return w.names(); }
        };
        assertThatThrownBy(() -> UNet2DConditionModel.load(json, missing))
                .hasMessageContaining("down_blocks.1.attentions.0.").hasMessageContaining("missing weight 'proj_in.weight'").hasMessageContaining("[80, 80, 1, 1]");
        ObjectNode linear = (ObjectNode) json.deepCopy();
        linear.put("use_linear_projection", true);                       // the 1×1 conv weights no longer fit
        io.sdj.core.WeightSource plain = new io.sdj.core.WeightSource() {
            @Override public WeightTensor get(String name) { return w.get(name); }
            @Override public boolean contains(String name) { return w.contains(name); }
            @Override public java.util.Set<String> names() { return w.names(); }
        };
        assertThatThrownBy(() -> UNet2DConditionModel.load(linear, plain)).hasMessageContaining("proj_in.weight").hasMessageContaining("expected");
    }

    @Test
    void centerInputSampleMapsTheInputTo2xMinus1AndOneTimestepIsBroadcast() {
        ObjectNode json = (ObjectNode) narrowed("bk-sdm-tiny");
        UNet2DConditionModel plain = UNet2DConditionModel.load(json, new SyntheticWeights(3));
        json.put("center_input_sample", true);
        UNet2DConditionModel centered = UNet2DConditionModel.load(json, new SyntheticWeights(3));
        Tensor x = random(4, 2, 4, 8, 8), ctx = random(5, 2, 3, 96);
        Tensor shifted = x.copy();
        for (int i = 0; i < shifted.numel(); i++) shifted.data()[i] = 2 * shifted.data()[i] - 1;
        float[] a = centered.forward(new Workspace(), x, new float[]{250}, ctx, null, Trace.NONE).toArray();
        float[] b = plain.forward(new Workspace(), shifted, new float[]{250, 250}, ctx, null, Trace.NONE).toArray();
        assertThat(a).containsExactly(b);
    }

    @Test
    void perBlockListsOfLayersAndTransformerDepthsBuildAndRun() {
        ObjectNode json = (ObjectNode) narrowed("sd15");
        json.putArray("layers_per_block").add(1).add(2).add(1).add(3);
        json.putArray("transformer_layers_per_block").add(2).add(1).add(3).add(1);
        json.putArray("attention_head_dim").add(4).add(8).add(2).add(1);
        SyntheticWeights w = new SyntheticWeights(11);
        UNet2DConditionModel unet = UNet2DConditionModel.load(json, w);
        assertThat(w.parameters()).isEqualTo(UNetCost.parameters(UNetConfig.fromJson(json)));
        assertThat(w.names()).contains("down_blocks.2.attentions.0.transformer_blocks.2.attn2.to_k.weight",
                "up_blocks.1.attentions.1.transformer_blocks.2.ff.net.2.bias",   // up block 1 mirrors down block 2
                "up_blocks.0.resnets.3.conv_shortcut.weight")                      // layers_per_block[3] + 1 resnets
                .doesNotContain("down_blocks.2.attentions.1.norm.weight", "up_blocks.1.attentions.2.norm.weight");
        Tensor out = unet.forward(new Workspace(), random(12, 1, 4, 5, 11), new float[]{42}, random(13, 1, 3, 96), null, Trace.NONE);
        assertThat(out.shape()).containsExactly(1, 4, 5, 11);
    }

    /**
     * The full-size efficient architectures of the golden fixtures (architectures/*.json: MobileDiffusion and -Lite,
     * SnapFusion), widths divided by 8, built from synthetic weights and run at an odd size, 1 vs 2 threads bit-identical.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"mobilediffusion", "mobilediffusion-lite", "snapfusion"})
    void efficientArchitecturesBuildAndRunFromSyntheticWeights(String name) throws Exception {
        java.nio.file.Path file = io.sdj.models.verify.GoldenCase.goldenDir().resolve("architectures").resolve(name + ".json");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(file), "golden fixtures absent: " + file);
        ObjectNode j = (ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
        ArrayNode ch = j.putArray("block_out_channels");
        for (JsonNode c : new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile()).get("block_out_channels")) ch.add(c.asInt() / 8);
        j.put("cross_attention_dim", j.get("cross_attention_dim").asInt() / 8);
        j.put("norm_num_groups", 8);
        if (j.has("mid_block_transformer_layers")) j.put("mid_block_transformer_layers", 3);   // keep CI fast
        UNetConfig c = UNetConfig.fromJson(j);
        SyntheticWeights w = new SyntheticWeights(21);
        UNet2DConditionModel unet = UNet2DConditionModel.load(j, w);
        assertThat(w.parameters()).as(name).isEqualTo(UNetCost.parameters(c));
        Tensor x = random(22, 2, 4, 9, 13), ctx = random(23, 2, 7, c.crossAttentionDim()[0]);
        int before = Parallel.threads();
        try {
            Parallel.setThreads(1);
            float[] one = unet.forward(new Workspace(), x, new float[]{10, 700}, ctx, null, Trace.NONE).toArray();
            Parallel.setThreads(2);
            float[] two = unet.forward(new Workspace(), x, new float[]{10, 700}, ctx, null, Trace.NONE).toArray();
            assertThat(two).as(name).containsExactly(one);
            double sq = 0;
            for (float v : one) {
                assertThat(Float.isFinite(v)).as(name).isTrue();
                sq += v * v;
            }
            assertThat(Math.sqrt(sq / one.length)).as(name + " output rms").isBetween(1e-3, 1e3);
        } finally {
            Parallel.setThreads(before);
        }
    }
}
