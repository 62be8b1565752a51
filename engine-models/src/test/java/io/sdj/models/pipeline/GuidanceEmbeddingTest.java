package io.sdj.models.pipeline;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The guidance embedding against a double-precision evaluation of its definition. */
class GuidanceEmbeddingTest {
    /** The unet-lcm-tiny case feeds diffusers' own embedding for guidance 8, 4 (r0) and 1.5 (r1). */
    @Test
    void matchesDiffusersEmbeddingInTheLcmUnetCase() {
        java.nio.file.Path dir = io.sdj.models.verify.GoldenCase.goldenDir().resolve("unet-lcm-tiny");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(dir), "golden case unet-lcm-tiny not found at " + dir);
        try (io.sdj.weights.Safetensors in = io.sdj.weights.Safetensors.open(dir.resolve("inputs.safetensors"))) {
            float[] r0 = in.floats("r0/timestep_cond"), r1 = in.floats("r1/timestep_cond");
            float[] mine = new float[3 * 256];
            System.arraycopy(GuidanceEmbedding.of(8f, 256, 1), 0, mine, 0, 256);
            System.arraycopy(GuidanceEmbedding.of(4f, 256, 1), 0, mine, 256, 256);
            System.arraycopy(GuidanceEmbedding.of(1.5f, 256, 1), 0, mine, 512, 256);
            float[] ref = new float[3 * 256];
            System.arraycopy(r0, 0, ref, 0, 512);
            System.arraycopy(r1, 0, ref, 512, 256);
            double max = 0;
            for (int i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(mine[i] - ref[i]));
            System.out.println("guidance embedding vs diffusers: max_abs " + max);
            // float32 sin/cos of arguments up to 7000 (ulp ≈ 5e-4) in two libm implementations
            assertThat(max).isLessThan(1e-3);
        }
    }

    @Test
    void matchesDoubleReference() {
        for (int dim : new int[]{4, 17, 256}) {
            for (float g : new float[]{1f, 1.5f, 8f}) {
                float[] e = GuidanceEmbedding.of(g, dim, 3);
                assertThat(e).hasSize(3 * dim);
                int half = dim / 2;
                for (int b = 0; b < 3; b++) {
                    for (int i = 0; i < half; i++) {
                        double f = Math.exp(-Math.log(10000.0) * i / (half - 1));
                        double w = (g - 1) * 1000.0;
                        // float32 argument rounding: sin/cos of arguments up to 7000 differ by up to ~1e-3 from double
                        assertThat((double) e[b * dim + i]).isCloseTo(Math.sin(w * f), within(2e-3));
                        assertThat((double) e[b * dim + half + i]).isCloseTo(Math.cos(w * f), within(2e-3));
                    }
                    if (dim % 2 == 1) assertThat(e[b * dim + dim - 1]).isZero();
                }
            }
        }
        // guidance 1 → w = 0: sin 0, cos 1
        float[] e = GuidanceEmbedding.of(1f, 8, 1);
        assertThat(e).containsExactly(0, 0, 0, 0, 1, 1, 1, 1);
    }
}
