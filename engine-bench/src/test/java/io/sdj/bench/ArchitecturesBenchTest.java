package io.sdj.bench;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The benchmark's set-up and work accounting, without timing anything. */
class ArchitecturesBenchTest {

    @Test
    void decodersRunAtASmallSize() throws Exception {
        for (String arch : new String[]{"taesd", "snapfusion-decoder"}) {
            ArchitecturesBench b = new ArchitecturesBench();
            b.arch = arch;
            b.mode = "evaluate";
            b.size = 64;
            b.cfg = 1;
            b.setup();
            assertThat(Float.isFinite(b.run())).as(arch).isTrue();
            b.tearDown();
        }
    }

    @Test
    void workPerIterationComesFromTheConfigs() {
        // golden architectures README: SD 1.5 401.64 GMACs at a 64×64 latent; SD VAE decode 1257.26
        assertThat(ArchitecturesBench.gflop("sd15", "evaluate", 512, 1)).isCloseTo(803.27, within(0.01));
        assertThat(ArchitecturesBench.gflop("sd15", "evaluate", 512, 7.5f)).isCloseTo(2 * 803.27, within(0.02));
        assertThat(ArchitecturesBench.gflop("sd-vae", "evaluate", 512, 7.5f)).isCloseTo(2514.52, within(0.01));
        double oneStep = ArchitecturesBench.gflop("mobilediffusion", "1-step", 512, 1);
        double eightGuided = ArchitecturesBench.gflop("mobilediffusion", "8-step", 512, 7.5f);
        double unet = ArchitecturesBench.gflop("mobilediffusion", "evaluate", 512, 1);
        double taesd = ArchitecturesBench.gflop("taesd", "evaluate", 512, 1);
        assertThat(oneStep).isGreaterThan(unet + taesd);
        assertThat(eightGuided - 16 * unet - taesd).isCloseTo(2 * (oneStep - unet - taesd), within(1e-6));   // the text encoder at batch 2
    }

    @Test
    void generatingNeedsAUNet() {
        ArchitecturesBench b = new ArchitecturesBench();
        b.arch = "sd-vae";
        b.mode = "1-step";
        b.size = 512;
        b.cfg = 1;
        assertThatThrownBy(b::setup).hasMessageContaining("UNet");
    }
}
