package io.sdj.models.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.models.clip.ClipTextConfig;
import io.sdj.models.sampling.SchedulerConfig;
import io.sdj.models.vae.VaeConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Size-like config values are range-checked with the key named, before they turn into huge allocations. */
class ConfigRangeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void schedulerTimestepsOutOfRange() {
        assertThatThrownBy(() -> SchedulerConfig.fromJson(json("{\"_class_name\":\"DDIMScheduler\",\"num_train_timesteps\":2147483647}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("scheduler config: num_train_timesteps = 2147483647 is out of range [1, 100000]");
        assertThatThrownBy(() -> SchedulerConfig.fromJson(json("{\"num_train_timesteps\":0}"))).hasMessageContaining("num_train_timesteps = 0");
        assertThatThrownBy(() -> SchedulerConfig.fromJson(json("{\"num_train_timesteps\":1e30}"))).hasMessageContaining("num_train_timesteps");
        assertThatThrownBy(() -> SchedulerConfig.fromJson(json("{\"num_train_timesteps\":\"many\"}"))).hasMessageContaining("num_train_timesteps").hasMessageContaining("not an integer");
        assertThat(SchedulerConfig.fromJson(json("{\"num_train_timesteps\":1000}")).numTrainTimesteps()).isEqualTo(1000);
    }

    @Test
    void vaeSizesOutOfRange() {
        assertThatThrownBy(() -> VaeConfig.fromJson(json("{\"block_out_channels\":[128, 2000000000]}")))
                .hasMessage("VAE config: block_out_channels[1] = 2000000000 is out of range [1, 65536]");
        assertThatThrownBy(() -> VaeConfig.fromJson(json("{\"layers_per_block\":100000}"))).hasMessageContaining("layers_per_block = 100000");
        assertThatThrownBy(() -> VaeConfig.fromJson(json("{\"latent_channels\":-4}"))).hasMessageContaining("latent_channels = -4");
    }

    @Test
    void textEncoderSizesOutOfRange() {
        assertThatThrownBy(() -> ClipTextConfig.fromJson(json("{\"hidden_size\":1000000000}")))
                .hasMessage("text encoder config: hidden_size = 1000000000 is out of range [1, 65536]");
        assertThatThrownBy(() -> ClipTextConfig.fromJson(json("{\"vocab_size\":99999999999}"))).hasMessageContaining("vocab_size = 99999999999");
        assertThatThrownBy(() -> ClipTextConfig.fromJson(json("{\"num_hidden_layers\":0}"))).hasMessageContaining("num_hidden_layers = 0");
    }

    @Test
    void longValuesAreQuotedShort() {
        String big = "9".repeat(5000);
        assertThatThrownBy(() -> ClipTextConfig.fromJson(json("{\"hidden_size\":" + big + "}")))
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(400));
    }
}
