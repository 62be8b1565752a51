package io.sdj.bench;

import io.sdj.core.DType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The GEMM workload of {@code GemmBenchmark}: hot (one B) or cold (distinct copies of B taken in turn). Every copy must
 * hold the same weights, so that hot and cold time the same arithmetic; each run is checked against a double-precision
 * product of the case's own A and weights.
 */
class GemmCaseTest {

    @Test
    void coldCyclesThroughDistinctCopiesOfTheSameWeights() {
        for (DType dtype : new DType[]{DType.F32, DType.F16}) {
            int m = 13, n = 37, k = 19;
            String shape = m + "x" + n + "x" + k;
            long bBytes = ((KernelCase.GemmRun) KernelCase.gemm(shape, dtype).factory().get()).b[0].byteSize();
            var cold = (KernelCase.GemmRun) KernelCase.gemm(shape, dtype, bBytes * 5 / 2).factory().get();
            assertThat(cold.b).as(dtype + ": ⌈2.5⌉ copies").hasSize(3);
            assertThat(cold.b[1]).isNotSameAs(cold.b[0]);
            assertThat(cold.b[2]).isNotSameAs(cold.b[0]).isNotSameAs(cold.b[1]);
            double[] expected = reference(cold, dtype);
            for (int run = 0; run < 4; run++) {
                Arrays.fill(cold.c, Float.NaN);
                cold.run();   // copies 0, 1, 2, 0
                for (int i = 0; i < expected.length; i++) {
                    assertThat((double) cold.c[i]).as("%s run %d, C[%d]", dtype, run, i).isCloseTo(expected[i], within(1e-4));
                }
            }
        }
    }

    @Test
    void hotHasOneCopyAndColdAtLeastTwoAndSaysSo() {
        KernelCase hot = KernelCase.gemm("8x32x8"), cold = KernelCase.gemm("8x32x8", DType.F32, 1);
        assertThat(((KernelCase.GemmRun) hot.factory().get()).b).hasSize(1);
        assertThat(((KernelCase.GemmRun) cold.factory().get()).b).hasSize(2);
        assertThat(hot.id()).isEqualTo("gemm 8x32x8");
        assertThat(cold.id()).isEqualTo("gemm-cold 8x32x8");
        assertThat(KernelCase.coldBytes("hot")).isZero();
        assertThat(KernelCase.coldBytes("cold")).isEqualTo(KernelCase.COLD_BYTES);
        assertThatThrownBy(() -> KernelCase.coldBytes("warm")).hasMessageContaining("hot or cold").hasMessageContaining("warm");
    }

    /** C = A·B in double precision, B being the weights the case was built from (f16: as rounded to binary16). */
    private static double[] reference(KernelCase.GemmRun g, DType dtype) {
        float[] w = KernelCase.random(2, g.k * g.n);   // f32: B[k][n]; f16: W[n][k], B = Wᵀ
        double[] c = new double[g.m * g.n];
        for (int i = 0; i < g.m; i++) {
            for (int j = 0; j < g.n; j++) {
                double s = 0;
                for (int q = 0; q < g.k; q++) {
                    double b = dtype == DType.F32 ? w[q * g.n + j] : Float.float16ToFloat(Float.floatToFloat16(w[j * g.k + q]));
                    s += (double) g.a[i * g.k + q] * b;
                }
                c[i * g.n + j] = s;
            }
        }
        return c;
    }
}
