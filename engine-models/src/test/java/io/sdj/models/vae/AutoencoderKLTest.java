package io.sdj.models.vae;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Config parsing, error messages, and structure checks with synthetic weights (no fixtures needed). */
class AutoencoderKLTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode tinyConfig() {
        ObjectNode n = JSON.createObjectNode();
        n.put("_class_name", "AutoencoderKL");
        n.putArray("block_out_channels").add(8).add(16);
        n.putArray("down_block_types").add("DownEncoderBlock2D").add("DownEncoderBlock2D");
        n.putArray("up_block_types").add("UpDecoderBlock2D").add("UpDecoderBlock2D");
        n.put("layers_per_block", 1);
        n.put("norm_num_groups", 4);
        n.put("latent_channels", 4);
        n.put("scaling_factor", 0.5);
        n.put("some_future_key", "ignored");
        return n;
    }

    @Test
    void bundledSdConfigIsTheSdTopology() {
        VaeConfig c = VaeConfig.stableDiffusion();
        assertThat(c.blockOutChannels()).containsExactly(128, 256, 512, 512);
        assertThat(c.layersPerBlock()).isEqualTo(2);
        assertThat(c.normNumGroups()).isEqualTo(32);
        assertThat(c.scalingFactor()).isEqualTo(0.18215f);
        assertThat(c.downscale()).isEqualTo(8);
    }

    @Test
    void sdDecoderFlopsMatchTheKnownCount() {
        // 2515 GFLOP at 512² (64² latent), 622 at 256² (performance-facts.md).
        try (RandomWeights w = new RandomWeights(VaeParameterShapes.decoderOnly(VaeConfig.stableDiffusion()), 1, "sd decoder")) {
            AutoencoderKL vae = AutoencoderKL.load(VaeConfig.stableDiffusion(), w);
            assertThat(vae.decoderFlops(1, 64, 64) / 1e9).isBetween(2505.0, 2525.0);
            assertThat(vae.decoderFlops(1, 32, 32) / 1e9).isBetween(615.0, 630.0);
            assertThat(w.parameterCount()).isBetween(49_000_000L, 50_000_000L); // SD VAE decoder ≈ 49.5 M parameters
        }
    }

    @Test
    void unknownKeysIgnoredUnsupportedValuesRefused() {
        assertThat(VaeConfig.fromJson(tinyConfig()).blockOutChannels()).containsExactly(8, 16);
        ObjectNode bad = tinyConfig();
        bad.put("act_fn", "gelu");
        assertThatThrownBy(() -> VaeConfig.fromJson(bad)).hasMessageContaining("act_fn 'gelu'");
        ObjectNode badBlock = tinyConfig();
        badBlock.putArray("up_block_types").add("AttnUpDecoderBlock2D").add("UpDecoderBlock2D");
        assertThatThrownBy(() -> VaeConfig.fromJson(badBlock)).hasMessageContaining("AttnUpDecoderBlock2D");
        ObjectNode badGroups = tinyConfig();
        badGroups.put("norm_num_groups", 3);
        assertThatThrownBy(() -> VaeConfig.fromJson(badGroups)).hasMessageContaining("norm_num_groups 3");
        ObjectNode badClass = tinyConfig();
        badClass.put("_class_name", "AsymmetricAutoencoderKL");
        assertThatThrownBy(() -> VaeConfig.fromJson(badClass)).hasMessageContaining("AsymmetricAutoencoderKL");
    }

    @Test
    void wrongInputChannelsGiveAClearMessage() {
        VaeConfig c = VaeConfig.fromJson(tinyConfig());
        try (RandomWeights w = RandomWeights.forVae(c, 7)) {
            AutoencoderKL vae = AutoencoderKL.load(c, w);
            Workspace ws = new Workspace();
            assertThatThrownBy(() -> vae.decode(ws, Tensor.zeros(1, 3, 4, 4), Trace.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[N, 4, H, W]").hasMessageContaining("[1, 3, 4, 4]");
            assertThatThrownBy(() -> vae.encode(ws, Tensor.zeros(1, 4, 16, 16), Trace.NONE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[N, 3, H, W]").hasMessageContaining("[1, 4, 16, 16]");
            assertThatThrownBy(() -> vae.encode(ws, Tensor.zeros(3, 16, 16), Trace.NONE))
                    .hasMessageContaining("[3, 16, 16]");
        }
    }

    @Test
    void wrongWeightShapeIsNamed() {
        VaeConfig c = VaeConfig.fromJson(tinyConfig());
        Map<String, int[]> shapes = VaeParameterShapes.of(c);
        shapes.put("decoder.conv_in.weight", new int[] {16, 3, 3, 3});
        try (RandomWeights w = new RandomWeights(shapes, 1, "bad")) {
            assertThatThrownBy(() -> AutoencoderKL.load(c, w)).hasMessageContaining("decoder.conv_in.weight")
                    .hasMessageContaining("[16, 3, 3, 3]");
        }
    }

    @Test
    void decoderOnlyWeightsDecodeAndRefuseToEncode() {
        VaeConfig c = VaeConfig.fromJson(tinyConfig());
        try (RandomWeights w = new RandomWeights(VaeParameterShapes.decoderOnly(c), 3, "decoder only")) {
            AutoencoderKL vae = AutoencoderKL.load(c, w);
            Workspace ws = new Workspace();
            Tensor img = vae.decode(ws, Tensor.zeros(1, 4, 3, 5), Trace.NONE);
            assertThat(img.shape()).containsExactly(1, 3, 6, 10);
            assertThatThrownBy(() -> vae.encode(ws, Tensor.zeros(1, 3, 8, 8), Trace.NONE)).hasMessageContaining("no encoder");
        }
    }

    @Test
    void legacyAttentionNamesGiveTheSameResult() {
        VaeConfig c = VaeConfig.fromJson(tinyConfig());
        try (RandomWeights w = RandomWeights.forVae(c, 11)) {
            Map<String, String> rename = Map.of("to_q", "query", "to_k", "key", "to_v", "value", "to_out.0", "proj_attn");
            WeightSource legacy = new WeightSource() {
                private String current(String n) {
                    for (var e : rename.entrySet()) {
                        String old = ".attentions.0." + e.getValue() + ".";
                        if (n.contains(old)) return n.replace(old, ".attentions.0." + e.getKey() + ".");
                    }
                    return n;
                }
                @Override public WeightTensor get(String n) {
                    WeightTensor t = w.get(current(n));
                    if (t.shape().length == 2 && !n.contains(".to_")) { // stored as a 1×1 conv in old files
                        return new WeightTensor(n, t.dtype(), new int[] {t.dim(0), t.dim(1), 1, 1}, t.data(), null);
                    }
                    return t;
                }
                @Override public boolean contains(String n) {
                    return n.contains(".attentions.0.to_") ? false : w.contains(current(n));
                }
                @Override public Set<String> names() { return new TreeSet<>(); }
            };
            AutoencoderKL a = AutoencoderKL.load(c, w), b = AutoencoderKL.load(c, legacy);
            Workspace ws = new Workspace();
            Tensor z = new Tensor(new float[4 * 4 * 6], 1, 4, 4, 6);
            for (int i = 0; i < z.numel(); i++) z.data()[i] = (float) Math.sin(i * 0.37);
            float[] ya = a.decode(ws, z, Trace.NONE).toArray(), yb = b.decode(ws, z, Trace.NONE).toArray();
            assertThat(yb).containsExactly(ya);
        }
    }

    @Test
    void oneAndTwoThreadsAreBitIdentical() {
        VaeConfig c = VaeConfig.fromJson(tinyConfig());
        int before = io.sdj.core.Parallel.threads();
        try (RandomWeights w = RandomWeights.forVae(c, 5)) {
            AutoencoderKL vae = AutoencoderKL.load(c, w);
            Tensor x = new Tensor(new float[2 * 3 * 10 * 14], 2, 3, 10, 14);
            for (int i = 0; i < x.numel(); i++) x.data()[i] = (float) Math.cos(i * 0.11);
            float[][] out = new float[2][];
            for (int t = 1; t <= 2; t++) {
                io.sdj.core.Parallel.setThreads(t);
                Workspace ws = new Workspace();
                LatentDistribution d = vae.encode(ws, x, Trace.NONE);
                out[t - 1] = vae.decode(ws, d.mean(), Trace.NONE).toArray();
            }
            assertThat(out[1]).containsExactly(out[0]);
        } finally {
            io.sdj.core.Parallel.setThreads(before);
        }
    }
}
