package io.sdj.models.profile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.pipeline.Cancellation;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.unet.UNetCost;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The profiler's bookkeeping on bundled topologies at 1/8 width: the model marks exactly the parts the cost walk
 * counts, per-block parameters (from the weights the model asked for) equal the cost walk's and add up to the model,
 * and the per-block times add up to the measured pass. No speed is asserted.
 */
class UNetProfilerTest {

    /** A bundled config with every width divided by 8 (the topology, heads and options are the file's own). */
    static JsonNode narrowed(String name) {
        ObjectNode j = (ObjectNode) UNetConfig.bundled(name);
        ArrayNode ch = j.putArray("block_out_channels");
        for (JsonNode c : UNetConfig.bundled(name).get("block_out_channels")) ch.add(c.asInt() / 8);
        j.put("cross_attention_dim", j.get("cross_attention_dim").asInt() / 8);
        j.put("norm_num_groups", 8);
        return j;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd15", "bk-sdm-small", "bk-sdm-tiny", "snapfusion", "mobilediffusion"})
    void marksCoverEveryCountedPartAndParametersAddUp(String name) {
        JsonNode json = narrowed(name);
        UNetConfig c = UNetConfig.fromJson(json);
        SyntheticWeights w = new SyntheticWeights(11);
        UNet2DConditionModel unet = UNet2DConditionModel.load(json, w);

        PartClock clock = new PartClock();
        clock.start();
        Workspace ws = new Workspace();
        Tensor out = unet.forward(ws, Tensor.zeros(1, 4, 16, 16), new float[]{500}, Tensor.zeros(1, 77, c.crossAttentionDim()[0]), null, clock);
        ws.release(out);
        Set<String> stamped = new LinkedHashSet<>();
        for (int i = 0; i < clock.stamps(); i++) stamped.add(clock.name(i));
        Map<String, Long> costParams = new LinkedHashMap<>();
        long costTotal = 0;
        for (UNetCost.Part p : UNetCost.parts(c, 1, 16, 16, 77)) {
            assertThat(stamped).as(name + ": the model marks the counted part " + p.name()).contains(p.name());
            costParams.merge(UNetProfiler.blockOf(p.name()), p.parameters(), Long::sum);
            costTotal += p.parameters();
        }
        assertThat(costTotal).as(name + ": parts add up to the model").isEqualTo(UNetCost.parameters(c));
        assertThat(UNetCost.parts(c, 2, 16, 16, 77).stream().mapToLong(UNetCost.Part::flops).sum())
                .isEqualTo(UNetCost.flops(c, 2, 16, 16, 77));

        Map<String, Long> weightParams = new LinkedHashMap<>();
        for (String n : w.names()) weightParams.merge(UNetProfiler.blockOf(n), Tensor.numel(w.shape(n)), Long::sum);
        assertThat(weightParams).as(name + ": parameters per block, weights vs cost walk").isEqualTo(costParams);
    }

    /**
     * The clock only stamps; it must not make the model take its unfused, activation-recording paths (the UNet's
     * output GroupNorm + SiLU, TAESD's blocks), or the profile would time code that generation never runs.
     */
    @Test
    void aProfiledPassRunsTheSameCodeAsAnUntracedOne() {
        assertThat(new PartClock().keepsActivations()).isFalse();
        JsonNode json = narrowed("bk-sdm-tiny");
        UNetConfig c = UNetConfig.fromJson(json);
        UNet2DConditionModel unet = UNet2DConditionModel.load(json, new SyntheticWeights(14));
        Tensor sample = UNetProfiler.random(15, 1, 4, 16, 16);
        Tensor context = UNetProfiler.random(16, 1, 77, c.crossAttentionDim()[0]);
        Workspace ws = new Workspace();
        PartClock clock = new PartClock();
        clock.start();
        float[] profiled = unet.forward(ws, sample, new float[]{500}, context, null, clock).data().clone();
        float[] plain = unet.forward(ws, sample, new float[]{500}, context, null, Trace.NONE).data().clone();
        assertThat(profiled).containsExactly(plain);
        // the unfused path records the normalised tensor before the SiLU: a second conv_norm_out stamp
        assertThat(IntStream.range(0, clock.stamps()).mapToObj(clock::name).filter("conv_norm_out"::equals)).hasSize(1);
    }

    @Test
    void blockTimesAddUpToTheMeasuredTotal() {
        JsonNode json = narrowed("sd15");
        SyntheticWeights w = new SyntheticWeights(12);
        UNet2DConditionModel unet = UNet2DConditionModel.load(json, w);
        int[] progress = new int[2];
        UNetProfile p = UNetProfiler.profile("sd15/8", unet, w, 2, 16, 8, 1, 5, new Cancellation(),
                (phase, done, total, ms) -> progress[phase.equals("warm-up") ? 0 : 1] = done);
        assertThat(progress).containsExactly(1, 5);

        assertThat(p.blocks().getFirst().name()).isEqualTo("time_embedding");
        assertThat(p.blocks()).extracting(UNetProfile.Row::name).contains("conv_in", "down_blocks.0.resnets.0",
                "down_blocks.0.attentions.1", "down_blocks.0.downsamplers.0", "mid_block.attentions.0", "up_blocks.3.resnets.2",
                "up_blocks.0.upsamplers.0", "conv_norm_out", "conv_out");
        assertThat(p.blocks()).extracting(UNetProfile.Row::name).doesNotHaveDuplicates()
                .noneMatch(n -> n.contains("transformer_blocks") || n.equals("time_proj") || n.equals("down_blocks.0"));
        assertThat(p.blocks().stream().mapToLong(UNetProfile.Row::parameters).sum()).isEqualTo(p.parameters())
                .isEqualTo(UNetCost.parameters(unet.config()));
        assertThat(p.blocks().stream().mapToLong(UNetProfile.Row::flops).sum()).isEqualTo(p.flops())
                .isEqualTo(UNetCost.flops(unet.config(), 2, 16, 8, 77));
        assertThat(p.byKind().stream().mapToLong(UNetProfile.Row::parameters).sum()).isEqualTo(p.parameters());
        assertThat(p.byKind().stream().mapToLong(UNetProfile.Row::flops).sum()).isEqualTo(p.flops());
        assertThat(p.byResolution().stream().mapToLong(UNetProfile.Row::flops).sum()).isEqualTo(p.flops());
        assertThat(p.byResolution()).extracting(UNetProfile.Row::name).containsExactly("16×8", "8×4", "4×2", "2×1", "-");

        // each run's parts tile the pass (all but the return from the last part), and every row is a mean over the
        // same runs: blocks, kinds and resolutions each add up to the measured total
        assertThat(p.partSumMs()).isCloseTo(p.totalMs(), within(0.02 * p.totalMs()));
        assertThat(p.blockSumMs()).isCloseTo(p.partSumMs(), within(1e-6 * p.totalMs()));
        assertThat(p.byKind().stream().mapToDouble(UNetProfile.Row::ms).sum()).isCloseTo(p.partSumMs(), within(1e-6 * p.totalMs()));
        assertThat(p.byResolution().stream().mapToDouble(UNetProfile.Row::ms).sum()).isCloseTo(p.partSumMs(), within(1e-6 * p.totalMs()));
        for (UNetProfile.Row r : p.blocks()) assertThat(r.ms()).as(r.name()).isGreaterThanOrEqualTo(0);
        assertThat(p.toJson().get("blocks").size()).isEqualTo(p.blocks().size());
    }

    @Test
    void cancellationStopsTheRun() {
        JsonNode json = narrowed("bk-sdm-tiny");
        SyntheticWeights w = new SyntheticWeights(13);
        UNet2DConditionModel unet = UNet2DConditionModel.load(json, w);
        Cancellation cancel = new Cancellation();
        assertThatThrownBy(() -> UNetProfiler.profile("x", unet, w, 1, 8, 8, 1, 100, cancel, (phase, done, total, ms) -> {
            if (phase.equals("measure") && done == 2) cancel.cancel();
        })).isInstanceOf(CancellationException.class);
    }
}
