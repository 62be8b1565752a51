package io.sdj.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import org.junit.jupiter.api.Test;

/**
 * Sinusoidal timestep embedding against a double-precision evaluation of diffusers' formula. The kernel computes in
 * float32 like diffusers (so that golden time_proj intermediates match); its deviation from the exact value is
 * dominated by the float rounding of the frequency (exponent e, |δf| ≤ (|e| + 3)·u·f) amplified by t:
 * |δ| ≤ t·f·(|e| + 4)·u + 2u.
 */
class TimestepEmbeddingTest {
    static final double U = Math.ulp(1f) / 2;

    @Test
    void matchesDiffusersFormula() {
        Workspace ws = new Workspace();
        float[] ts = {0f, 1f, 17f, 500.5f, 999f};
        for (int dim : new int[] {320, 256, 7, 1}) {
            for (boolean flip : new boolean[] {true, false}) {
                for (float shift : new float[] {0f, 1f}) {
                    if (dim / 2 - shift <= 0) continue;
                    Tensor y = TimestepEmbedding.sinusoidal(ws, ts, dim, flip, shift);
                    assertThat(y.shape()).containsExactly(ts.length, dim);
                    int half = dim / 2;
                    for (int b = 0; b < ts.length; b++) {
                        for (int i = 0; i < half; i++) {
                            double e = -Math.log(10000) * i / (half - shift);
                            double f = Math.exp(e), arg = ts[b] * f;
                            double tol = arg * (Math.abs(e) + 4) * U + 2 * U;
                            double sin = Math.sin(arg), cos = Math.cos(arg);
                            float first = y.data()[b * dim + i], second = y.data()[b * dim + half + i];
                            String what = "dim " + dim + " flip " + flip + " shift " + shift + " t " + ts[b] + " i " + i;
                            assertThat((double) first).as(what).isCloseTo(flip ? cos : sin, org.assertj.core.data.Offset.offset(tol));
                            assertThat((double) second).as(what).isCloseTo(flip ? sin : cos, org.assertj.core.data.Offset.offset(tol));
                        }
                        if (dim % 2 == 1) assertThat(y.data()[b * dim + dim - 1]).as("odd dim zero pad").isEqualTo(0f);
                    }
                }
            }
        }
    }
}
