package io.sdj.models.pipeline;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The guidance embedding against a double-precision evaluation of its definition. */
class GuidanceEmbeddingTest {
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
