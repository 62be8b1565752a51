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
            assertThat(c.timeEmbeddingDim()).as(name).isEqualTo(4 * c.blockOutChannels()[0]);
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
    void missingKeysTakeDiffusersDefaultsAndUnknownKeysAreIgnored() throws Exception {
        JsonNode j = JSON.readTree("{\"some_future_key\": 3, \"skip_prk_steps\": true}");
        UNetConfig c = UNetConfig.fromJson(j);
        assertThat(c.blockOutChannels()).containsExactly(320, 640, 1280, 1280);
        assertThat(c.crossAttentionDim()).containsExactly(1280, 1280, 1280, 1280);
        assertThat(c.layersPerBlock()).containsExactly(2, 2, 2, 2);
        assertThat(c.midBlockType()).isEqualTo(UNetConfig.MID_CROSS_ATTN);
        assertThat(c.normEps()).isEqualTo(1e-5f);
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
