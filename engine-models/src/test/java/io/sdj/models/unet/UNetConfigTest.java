package io.sdj.models.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class UNetConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyBundledConfigParses() {
        for (String name : UNetConfig.BUNDLED) {
            UNetConfig c = UNetConfig.fromJson(UNetConfig.bundled(name));
            assertThat(c.inChannels()).as(name).isEqualTo(4);
            assertThat(c.timeEmbeddingDim()).as(name).isEqualTo(1280);
        }
    }

    @Test
    void sd15Topology() {
        UNetConfig c = UNetConfig.fromJson(UNetConfig.bundled("sd15"));
        assertThat(c.blockOutChannels()).containsExactly(320, 640, 1280, 1280);
        assertThat(c.layersPerBlock()).containsExactly(2, 2, 2, 2);
        assertThat(c.numAttentionHeads()).containsExactly(8, 8, 8, 8);   // attention_head_dim 8 = number of heads
        assertThat(c.crossAttentionDim()).containsExactly(768, 768, 768, 768);
        assertThat(c.hasMidBlock()).isTrue();
        assertThat(c.upcastAttention()).isFalse();                          // null in the upstream file
        // The SD 1.5 UNet has 859,520,964 parameters (diffusers' model.num_parameters()).
        assertThat(UNetCost.parameters(c)).isEqualTo(859_520_964L);
    }

    @Test
    void bkSdmTopologies() {
        UNetConfig base = UNetConfig.fromJson(UNetConfig.bundled("bk-sdm-base"));
        UNetConfig small = UNetConfig.fromJson(UNetConfig.bundled("bk-sdm-small"));
        UNetConfig tiny = UNetConfig.fromJson(UNetConfig.bundled("bk-sdm-tiny"));
        assertThat(base.layersPerBlock()).containsExactly(1, 1, 1, 1);
        assertThat(base.hasMidBlock()).isTrue();
        assertThat(small.hasMidBlock()).isFalse();
        assertThat(tiny.hasMidBlock()).isFalse();
        assertThat(tiny.blockOutChannels()).containsExactly(320, 640, 1280);
        assertThat(tiny.downBlockTypes()).containsOnly(UNetConfig.CROSS_ATTN_DOWN);
        // BK-SDM paper: U-Net 0.58 B parameters (Base); Small is Base without the mid block, which holds 97.04 M
        // parameters at 1280 channels (2 resnets of 31.14 M + a transformer of 34.76 M, counted by hand).
        // (Tiny's topology is checked by its FLOP count below.)
        assertThat(UNetCost.parameters(base) / 1e9).isCloseTo(0.58, within(0.005));
        assertThat((UNetCost.parameters(base) - UNetCost.parameters(small)) / 1e6).isCloseTo(97.04, within(0.01));

        UNetConfig v2 = UNetConfig.fromJson(UNetConfig.bundled("bk-sdm-v2-tiny"));
        assertThat(v2.numAttentionHeads()).containsExactly(5, 10, 20);
        assertThat(v2.crossAttentionDim()).containsExactly(1024, 1024, 1024);
        assertThat(v2.useLinearProjection()).isTrue();
        assertThat(v2.hasMidBlock()).isFalse();
        UNetConfig v2Base = UNetConfig.fromJson(UNetConfig.bundled("bk-sdm-v2-base"));
        assertThat(v2Base.hasMidBlock()).isTrue();                           // mid_block_type absent → diffusers default
        assertThat(UNetConfig.fromJson(UNetConfig.bundled("bk-sdm-v2-768-tiny")).upcastAttention()).isTrue();
    }

    /** Expected values from the project's performance notes (measured independently of this code). */
    @ParameterizedTest
    @CsvSource({"sd15, 32, 180.1", "sd15, 64, 803.3", "bk-sdm-tiny, 32, 108.8", "bk-sdm-tiny, 64, 485.5"})
    void flopsMatchPublishedCounts(String name, int size, double gflop) {
        UNetConfig c = UNetConfig.fromJson(UNetConfig.bundled(name));
        assertThat(UNetCost.flops(c, 1, size, size, 77) / 1e9).isCloseTo(gflop, within(0.05));
        assertThat(UNetCost.flops(c, 2, size, size, 77)).isEqualTo(2 * UNetCost.flops(c, 1, size, size, 77));
    }

    @Test
    void missingKeysTakeDiffusersDefaults() throws Exception {
        JsonNode j = JSON.readTree("{\"_class_name\": \"UNet2DConditionModel\", \"_diffusers_version\": \"0.25.1\", \"_name_or_path\": \"x\"}");
        UNetConfig c = UNetConfig.fromJson(j);
        assertThat(c.blockOutChannels()).containsExactly(320, 640, 1280, 1280);
        assertThat(c.crossAttentionDim()).containsExactly(1280, 1280, 1280, 1280);
        assertThat(c.layersPerBlock()).containsExactly(2, 2, 2, 2);
        assertThat(c.midBlockType()).isEqualTo(UNetConfig.MID_CROSS_ATTN);
        assertThat(c.normEps()).isEqualTo(1e-5f);
        assertThat(c.efficient().isStock()).isTrue();
        assertThat(c.efficient().ffMult()).isEqualTo(4);
        assertThat(c.efficient().midBlockTransformerLayers()).isEqualTo(1);
        assertThat(c.transformerLayers()).isDeepEqualTo(new int[][]{{1, 1}, {1, 1}, {1, 1}, {1, 1}});
        assertThat(c.upTransformerLayers()).isDeepEqualTo(new int[][]{{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}});
    }

    /** A key the engine does not know would be silently ignored otherwise (a silently wrong image): refused by name. */
    @ParameterizedTest
    @CsvSource({"some_future_key", "skip_prk_steps", "conv_types", "mid_block_add_attention"})
    void refusesUnknownKeysNamingThem(String key) {
        ObjectNode j = (ObjectNode) UNetConfig.bundled("sd15");
        j.put(key, 3);
        assertThatThrownBy(() -> UNetConfig.fromJson(j)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown key '" + key + "'");
    }

    /** Three levels (DownBlock2D + CrossAttn×2), the topology of the MobileDiffusion configs. */
    private static ObjectNode threeLevels() throws Exception {
        return (ObjectNode) JSON.readTree("""
                {"block_out_channels": [32, 64, 96], "norm_num_groups": 8, "cross_attention_dim": 32,
                 "attention_head_dim": [1, 2, 4], "layers_per_block": [1, 2, 1],
                 "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                 "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]}""");
    }

    @Test
    void parsesEveryEfficientBlockKey() throws Exception {
        ObjectNode j = threeLevels();
        j.set("conv_type", JSON.readTree("[\"standard\", \"separable\", \"separable\"]"));
        j.put("attention_activation", "relu");
        j.put("shared_kv_projection", true);
        j.put("ff_activation", "swiglu");
        j.put("ff_mult", 3);
        j.set("self_attention_per_block", JSON.readTree("[true, false, false]"));
        j.put("mid_block_transformer_layers", 5);
        j.put("mid_block_self_attention", true);
        j.set("attention_per_layer", JSON.readTree("[[false], [true, false], [true]]"));
        j.set("up_attention_per_layer", JSON.readTree("[[false, true], [true, true, false], [false, false]]"));
        j.set("transformer_layers_per_block", JSON.readTree("[[7], [1, 2], [3]]"));
        j.set("reverse_transformer_layers_per_block", JSON.readTree("[[4, 5], [6, 7, 8], [9, 9]]"));
        UNetConfig c = UNetConfig.fromJson(j);
        EfficientBlocks e = c.efficient();
        assertThat(e.separableConv()).containsExactly(false, true, true);
        assertThat(e.reluAttention()).isTrue();
        assertThat(e.sharedKvProjection()).isTrue();
        assertThat(e.swiglu()).isTrue();
        assertThat(e.ffMult()).isEqualTo(3);
        assertThat(e.selfAttention()).containsExactly(true, false, false);
        assertThat(e.midBlockTransformerLayers()).isEqualTo(5);
        assertThat(e.midBlockSelfAttention()).isTrue();
        assertThat(e.isStock()).isFalse();
        assertThat(c.downAttention(1, 0)).isTrue();
        assertThat(c.downAttention(1, 1)).isFalse();
        assertThat(c.downAttention(0, 0)).isFalse();                      // DownBlock2D
        assertThat(c.upAttention(0, 0)).isFalse();
        assertThat(c.upAttention(0, 1)).isTrue();
        assertThat(c.upAttention(1, 2)).isFalse();
        assertThat(c.upLayers(0)).isEqualTo(2);
        assertThat(c.upLayers(1)).isEqualTo(3);
        assertThat(c.transformerLayers()[1]).containsExactly(1, 2);
        assertThat(c.upTransformerLayers()[1]).containsExactly(6, 7, 8);

        // strings, defaults and the flat forms
        ObjectNode k = threeLevels();
        k.put("conv_type", "separable");
        k.put("attention_activation", "softmax");
        k.put("ff_activation", "geglu");
        k.set("transformer_layers_per_block", JSON.readTree("[1, 2, 3]"));
        UNetConfig d = UNetConfig.fromJson(k);
        assertThat(d.efficient().separableConv()).containsExactly(true, true, true);
        assertThat(d.efficient().reluAttention()).isFalse();
        assertThat(d.efficient().swiglu()).isFalse();
        assertThat(d.efficient().midBlockTransformerLayers()).isEqualTo(3);   // diffusers: last entry
        assertThat(d.upTransformerLayers()[0]).containsExactly(3, 3);           // up block 0 ↔ down block 2
        assertThat(d.upTransformerLayers()[1]).containsExactly(2, 2, 2);
        // nested form: the mid block takes the first count of the last list; self-attention follows the last level
        k.set("transformer_layers_per_block", JSON.readTree("[[1], [1, 2], [6]]"));
        k.set("reverse_transformer_layers_per_block", JSON.readTree("[[1, 1], [1, 1, 1], [1, 1]]"));
        k.set("self_attention_per_block", JSON.readTree("[true, true, false]"));
        UNetConfig nested = UNetConfig.fromJson(k);
        assertThat(nested.efficient().midBlockTransformerLayers()).isEqualTo(6);
        assertThat(nested.efficient().midBlockSelfAttention()).isFalse();
        // JSON null = default
        k.putNull("ff_mult");
        k.putNull("conv_type");
        assertThat(UNetConfig.fromJson(k).efficient().ffMult()).isEqualTo(4);
        assertThat(UNetConfig.fromJson(k).efficient().separableConv()).containsExactly(false, false, false);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "conv_type | \"depthwise\" | conv_type",
            "conv_type | [\"standard\", \"separable\"] | conv_type",
            "conv_type | [\"standard\", \"separable\", \"dense\"] | conv_type",
            "attention_activation | \"gelu\" | attention_activation",
            "shared_kv_projection | \"yes\" | shared_kv_projection",
            "ff_activation | \"relu\" | ff_activation",
            "ff_mult | 0 | ff_mult",
            "ff_mult | 2.5 | ff_mult",
            "self_attention_per_block | [true, false] | self_attention_per_block",
            "self_attention_per_block | [true, false, 1] | self_attention_per_block",
            "mid_block_transformer_layers | 0 | mid_block_transformer_layers",
            "mid_block_self_attention | 1 | mid_block_self_attention",
            "attention_per_layer | [[false], [true, true]] | attention_per_layer",
            "attention_per_layer | [[false], [true], [true]] | attention_per_layer",
            "attention_per_layer | [[true], [true, true], [true]] | DownBlock2D",
            "up_attention_per_layer | [[true, true], [true, true, true], [true, false]] | DownBlock2D",
            "up_attention_per_layer | [[true, true, true], [true, true, true], [false, false]] | up_attention_per_layer",
            "transformer_layers_per_block | [[1], [1, 2], [2]] | reverse_transformer_layers_per_block",
            "transformer_layers_per_block | [1, 2] | transformer_layers_per_block",
            "transformer_layers_per_block | [1, 0, 1] | transformer_layers_per_block",
    })
    void refusesEfficientBlockValuesTheContractDoesNotAllow(String key, String value, String message) throws Exception {
        ObjectNode j = threeLevels();
        j.set(key, JSON.readTree(value));
        assertThatThrownBy(() -> UNetConfig.fromJson(j)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message).hasMessageContaining("UNet config");
    }

    @Test
    void refusesDisallowedCombinations() throws Exception {
        ObjectNode noMid = threeLevels();
        noMid.putNull("mid_block_type");
        noMid.put("mid_block_transformer_layers", 2);
        assertThatThrownBy(() -> UNetConfig.fromJson(noMid)).hasMessageContaining("mid_block_transformer_layers").hasMessageContaining("mid_block_type");
        ObjectNode noMid2 = threeLevels();
        noMid2.putNull("mid_block_type");
        noMid2.put("mid_block_self_attention", true);
        assertThatThrownBy(() -> UNetConfig.fromJson(noMid2)).hasMessageContaining("mid_block_self_attention");
        ObjectNode reverseShape = threeLevels();
        reverseShape.set("transformer_layers_per_block", JSON.readTree("[[1], [1, 2], [2]]"));
        reverseShape.set("reverse_transformer_layers_per_block", JSON.readTree("[[1, 1], [1, 1], [1, 1]]"));
        assertThatThrownBy(() -> UNetConfig.fromJson(reverseShape)).hasMessageContaining("reverse_transformer_layers_per_block[1]");
        ObjectNode nestedShape = threeLevels();
        nestedShape.set("transformer_layers_per_block", JSON.readTree("[[1], [1, 2, 3], [2]]"));
        nestedShape.set("reverse_transformer_layers_per_block", JSON.readTree("[[1, 1], [1, 1, 1], [1, 1]]"));
        assertThatThrownBy(() -> UNetConfig.fromJson(nestedShape)).hasMessageContaining("transformer_layers_per_block[1]");
        ObjectNode padding = threeLevels();
        padding.put("downsample_padding", 2);
        padding.put("conv_type", "separable");
        assertThatThrownBy(() -> UNetConfig.fromJson(padding)).hasMessageContaining("downsample_padding");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "class_embed_type | \"timestep\" | class_embed_type",
            "addition_embed_type | \"text_time\" | addition_embed_type",
            "num_attention_heads | 8 | num_attention_heads",
            "encoder_hid_dim_type | \"text_proj\" | encoder_hid_dim_type",
            "mid_block_type | \"UNetMidBlock2DSimpleCrossAttn\" | mid_block_type",
            "down_block_types | [\"SimpleCrossAttnDownBlock2D\",\"DownBlock2D\",\"DownBlock2D\",\"DownBlock2D\"] | SimpleCrossAttnDownBlock2D",
            "up_block_types | [\"UpBlock2D\",\"UpBlock2D\"] | one entry per block_out_channels",
            "attention_head_dim | [8, 8] | one entry per block",
            "attention_head_dim | 7 | attention_head_dim",
            "resnet_time_scale_shift | \"scale_shift\" | resnet_time_scale_shift",
            "only_cross_attention | true | only_cross_attention",
            "time_embedding_type | \"fourier\" | time_embedding_type",
            "norm_num_groups | 48 | norm_num_groups",
    })
    void refusesUnsupportedValuesNamingTheKey(String key, String value, String message) throws Exception {
        ObjectNode j = (ObjectNode) UNetConfig.bundled("sd15");
        j.set(key, JSON.readTree(value));
        assertThatThrownBy(() -> UNetConfig.fromJson(j)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message).hasMessageContaining("UNet config");
    }
}
