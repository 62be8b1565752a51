package io.sdj.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.clip.ClipTextConfig;
import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.pipeline.DecoderKind;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.vae.RandomWeights;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SyntheticPipelineModelTest {

    /** A small CLIP text config (same vocabulary and positions as SD's, so the tokenizer's ids fit). */
    static JsonNode tinyText() {
        ObjectNode o = (ObjectNode) SyntheticTextEncoder.vitL14Config();
        o.put("hidden_size", 32).put("intermediate_size", 64).put("num_hidden_layers", 2).put("num_attention_heads", 4);
        return o;
    }

    static JsonNode tinyUnet() {
        ObjectNode o = (ObjectNode) UNetConfig.bundled("bk-sdm-tiny");
        o.putArray("block_out_channels").add(32).add(64).add(64);
        o.put("cross_attention_dim", 32).put("norm_num_groups", 8).put("attention_head_dim", 8);
        return o;
    }

    static JsonNode tinyVae() {
        ObjectNode o = (ObjectNode) SyntheticPipelineModel.sdVaeConfig();
        o.putArray("block_out_channels").add(16).add(16).add(32).add(32);
        o.put("norm_num_groups", 8).put("layers_per_block", 1);
        return o;
    }

    @Test
    void textEncoderReadsExactlyTheSyntheticTensors() {
        JsonNode config = tinyText();
        try (RandomWeights w = SyntheticTextEncoder.weights(config, 5)) {
            Set<String> read = new TreeSet<>();
            WeightSource recording = new WeightSource() {
                @Override public WeightTensor get(String name) { read.add(name); return w.get(name); }
                @Override public boolean contains(String name) { return w.contains(name); }
                @Override public Set<String> names() { return w.names(); }
            };
            ClipTextModel model = ClipTextModel.load(config, recording);
            int[][] ids = TextEncoderBench.tokenRows(2, model.config());
            var out = model.forward(new Workspace(), ids, Trace.NONE);
            assertThat(read).isEqualTo(new TreeSet<>(w.names()));
            assertThat(out.lastHiddenState().shape()).containsExactly(2, 77, 32);
            for (int i = 0; i < out.lastHiddenState().numel(); i++) assertThat(out.lastHiddenState().data()[i]).isFinite();
        }
    }

    @Test
    void sd1TextEncoderFlops() {
        // per layer and token: q,k,v,out 4·768² + MLP 2·768·3072 = 7 077 888 MACs; attention 2·77·768 = 118 272 MACs;
        // × 77 tokens × 12 layers × 2 FLOP/MAC
        double expected = 2.0 * 77 * 12 * (7_077_888 + 118_272);
        ClipTextConfig c = ClipTextConfig.fromJson(SyntheticTextEncoder.vitL14Config());
        assertThat(SyntheticTextEncoder.flops(c, 1, 77)).isEqualTo(expected);
        assertThat(SyntheticTextEncoder.flops(c, 2, 77) / 1e9).isCloseTo(26.6, within(0.05));
        assertThat(c.hiddenSize()).isEqualTo(768);
        assertThat(c.numHiddenLayers()).isEqualTo(12);
        assertThat(c.numAttentionHeads()).isEqualTo(12);
        assertThat(c.intermediateSize()).isEqualTo(3072);
        assertThat(c.vocabSize()).isEqualTo(49408);
    }

    @Test
    void generatesThroughTheLoaderWithBothDecodersAndSchedules() throws Exception {
        try (Txt2Img pipe = new SyntheticPipelineModel("tiny", 3, tinyText(), tinyUnet(), tinyVae(), true).open()) {
            assertThat(pipe.hasDecoder(DecoderKind.VAE)).isTrue();
            assertThat(pipe.hasDecoder(DecoderKind.TAESD)).isTrue();

            GenerationResult one = pipe.request().prompt(GenerationBench.PROMPT).schedule(NamedSchedule.ONE_STEP)
                    .guidance(1f).seed(7).size(64, 64).decoder(DecoderKind.TAESD).generate();
            assertThat(one.sampler()).isEqualTo(SamplerKind.ONE_STEP);
            assertThat(one.timings().stepNanos()).hasSize(1);
            checkImage(one);

            GenerationResult eight = pipe.request().prompt(GenerationBench.PROMPT).schedule(NamedSchedule.EIGHT_STEP)
                    .guidance(7.5f).seed(7).size(64, 64).decoder(DecoderKind.VAE).generate();
            assertThat(eight.sampler()).isEqualTo(SamplerKind.DDIM);
            assertThat(eight.timings().stepNanos()).hasSize(8);
            checkImage(eight);

            GenerationResult again = pipe.request().prompt(GenerationBench.PROMPT).schedule(NamedSchedule.ONE_STEP)
                    .guidance(1f).seed(7).size(64, 64).decoder(DecoderKind.TAESD).generate();
            assertThat(again.pixels()).isEqualTo(one.pixels());   // synthetic weights and seeds are deterministic
        }
    }

    private static void checkImage(GenerationResult r) {
        assertThat(r.images()).hasSize(1);
        assertThat(r.images().get(0).width()).isEqualTo(64);
        assertThat(r.images().get(0).height()).isEqualTo(64);
        float[] p = r.pixels();
        assertThat(p).hasSize(64 * 64 * 3);
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float v : p) {
            assertThat(v).isBetween(0f, 1f);
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertThat(max).isGreaterThan(min);   // not a constant image
    }

    @Test
    void guidanceParameter() {
        assertThat(GenerationBench.guidanceScale("implied", NamedSchedule.EIGHT_STEP)).isEqualTo(7.5f);
        assertThat(GenerationBench.guidanceScale("implied", NamedSchedule.ONE_STEP)).isEqualTo(1f);
        assertThat(GenerationBench.guidanceScale("3", NamedSchedule.ONE_STEP)).isEqualTo(3f);
        assertThatThrownBy(() -> GenerationBench.guidanceScale("lots", NamedSchedule.ONE_STEP))
                .hasMessageContaining("guidance").hasMessageContaining("lots");
    }

    @Test
    void unknownComponentIsNamed() {
        SyntheticPipelineModel m = new SyntheticPipelineModel("tiny", 3, tinyText(), tinyUnet(), null, true);
        assertThat(m.components()).containsExactly("text_encoder", "unet", "taesd_decoder", "scheduler");
        assertThatThrownBy(() -> m.config("vae")).hasMessageContaining("vae").hasMessageContaining("tiny");
        m.close();
    }
}
