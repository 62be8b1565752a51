package io.sdj.models;

import io.sdj.core.Tensor;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.vae.AutoencoderKL;
import io.sdj.models.vae.VaeConfig;
import io.sdj.models.vae.VaeDecoderCost;
import io.sdj.models.vae.VaeParameterShapes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bundled architectures' counts, from their configs alone, against the exact numbers of
 * {@code shared/golden/architectures/README.md} (counted there with forward hooks on the upstream-built models).
 */
class ArchitectureTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "sd15,                 859520964, 401636720640,   90053222400",
            "bk-sdm-base,          579384964, 261496995840,   59206901760",
            "bk-sdm-small,         482346884, 255447203840,   57580421120",
            "bk-sdm-tiny,          323384964, 242754519040,   54403563520",
            "snapfusion,           846789764, 304808099840,   75770470400",
            "mobilediffusion,      371025988, 155593474048,   39538155520",
            "mobilediffusion-lite, 269108868, 101142986752,   25762791424",
            "sd-vae,                49490199, 1257259466752, 311093641216",
            "snapfusion-decoder,    12387479, 318855249920,   78103199744",
    })
    void countsEqualTheReferenceCounts(String name, long parameters, long macs64, long macs32) {
        Architecture a = Architecture.named(name);
        assertThat(a.parameters()).as(name + " parameters").isEqualTo(parameters);
        assertThat(a.macs(64, 64)).as(name + " MACs at 64×64").isEqualTo(macs64);
        assertThat(a.macs(32, 32)).as(name + " MACs at 32×32").isEqualTo(macs32);
    }

    @Test
    void everyNameIsListedOnceInTheReferenceOrder() {
        assertThat(Architecture.names()).containsExactly("sd15", "bk-sdm-base", "bk-sdm-small", "bk-sdm-tiny", "snapfusion",
                "mobilediffusion", "mobilediffusion-lite", "sd-vae", "snapfusion-decoder", "taesd");
        for (Architecture a : Architecture.ALL) assertThat(a.source()).as(a.name()).isNotBlank();
    }

    @Test
    void unknownNameIsOneLineListingTheKnownOnes() {
        assertThatThrownBy(() -> Architecture.named("sd16")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown architecture 'sd16'").hasMessageContaining("mobilediffusion-lite")
                .hasMessageNotContaining("\n");
    }

    /** The config-only VAE walk agrees with the parameter list and with the built model's own count (tiny width). */
    @Test
    void vaeDecoderWalkAgreesWithTheBuiltModel() {
        VaeConfig sd = VaeConfig.stableDiffusion();
        long listed = 0;
        for (int[] s : VaeParameterShapes.decoderOnly(sd).values()) listed += Tensor.numel(s);
        assertThat(VaeDecoderCost.parameters(sd)).isEqualTo(listed);
        VaeConfig narrow = VaeConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                .put("layers_per_block", 1).put("norm_num_groups", 16)
                .set("block_out_channels", new com.fasterxml.jackson.databind.ObjectMapper().createArrayNode().add(32).add(64).add(64)));
        SyntheticWeights w = new SyntheticWeights(3);
        VaeParameterShapes.decoderOnly(narrow).forEach(w::create);
        AutoencoderKL vae = AutoencoderKL.load(narrow, w);
        assertThat(VaeDecoderCost.flops(narrow, 2, 7, 5)).isEqualTo(vae.decoderFlops(2, 7, 5));
    }

    /** TAESD: the static count equals the built decoder's; 1,222,531 parameters (Decoder(4) of taesd.py). */
    @Test
    void taesdCountsAgreeWithTheBuiltDecoder() {
        SyntheticWeights w = new SyntheticWeights(4);
        TaesdDecoder.parameterShapes(4).forEach(w::create);
        TaesdDecoder dec = TaesdDecoder.load(w);
        assertThat(TaesdDecoder.flops(4, 1, 64, 64)).isEqualTo(dec.flops(1, 64, 64));
        assertThat(TaesdDecoder.parameters(4)).isEqualTo(w.parameters());
        assertThat(Architecture.named("taesd").parameters()).isEqualTo(w.parameters());
    }
}
