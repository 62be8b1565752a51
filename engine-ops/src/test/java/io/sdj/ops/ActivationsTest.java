package io.sdj.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import java.util.Random;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Whole-tensor activations and GEGLU against the double reference definitions in {@link Activation#apply}, on
 * sizes that are not multiples of any vector length or block (tails), for every species and 1 vs 2 threads.
 * Tolerance: the {@link VectorMath} bounds (≤ 12 ulp for GELU, ≤ 4·(1+|a|) ulp for the others) taken as
 * 16·(1 + |x|)·ulp(y) + 2⁻¹⁴⁹·(1 + |x|), plus for GEGLU one more rounding of the product.
 */
class ActivationsTest {
    final Workspace ws = new Workspace();
    static final int[] SIZES = {1, 3, 17, 77, 1000, 8193, 20000};

    @AfterEach
    void restoreThreads() { Parallel.setThreads(Runtime.getRuntime().availableProcessors()); }

    static float[] random(Random rnd, int n, float amp) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * amp);
        return a;
    }

    static void assertClose(String what, float x, float got, double ref) {
        double tol = 16 * (1 + Math.abs(x)) * Math.ulp((float) ref) + Float.MIN_VALUE * (1 + Math.abs(x));
        if (!(Math.abs(got - ref) <= tol)) throw new AssertionError(what + ": f(" + x + ") = " + got + ", expected " + ref);
    }

    @Test
    void everyActivationEverySize() {
        Random rnd = new Random(5);
        for (Activation act : Activation.values()) {
            for (int n : SIZES) {
                float[] x = random(rnd, n, 4f);
                for (VectorSpecies<Float> sp : AttentionTest.SPECIES) {
                    Activations.Kernel k = Activations.kernel(sp);
                    float[] one = new float[n + 5], two = new float[n + 5];
                    java.util.Arrays.fill(one, 42f);
                    Parallel.setThreads(1);
                    k.apply(x, one, n, act);
                    Parallel.setThreads(2);
                    System.arraycopy(x, 0, two, 0, n);
                    k.apply(two, two, n, act); // in place
                    String what = act + " n=" + n + " " + sp;
                    for (int i = 0; i < n; i++) {
                        assertThat(Float.floatToRawIntBits(two[i])).as(what + " 1 vs 2 threads / in place at " + i).isEqualTo(Float.floatToRawIntBits(one[i]));
                        assertClose(what, x[i], one[i], reference(act, x[i]));
                    }
                    for (int i = n; i < n + 5; i++) assertThat(one[i]).as(what + ": wrote past the end").isEqualTo(42f);
                }
            }
        }
    }

    /** Double reference; GELU's negative tail via erfc so that it is meaningful there too. */
    static double reference(Activation act, float x) {
        return act == Activation.GELU ? VectorMathTest.geluRef(x) : switch (act) {
            case SILU -> x / (1 + Math.exp(-(double) x));
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case GELU_TANH -> x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            default -> act.apply(x);
        };
    }

    @Test
    void publicApiMatchesScalarDefinition() {
        Tensor x = Tensor.of(random(new Random(1), 2 * 77 * 5, 3f), 2, 77, 5);
        Tensor y = Activations.apply(ws, x, Activation.GELU_TANH);
        for (int i = 0; i < x.numel(); i++) {
            assertThat((double) y.data()[i]).isCloseTo(Activation.GELU_TANH.apply(x.data()[i]), org.assertj.core.data.Offset.offset(1e-6));
        }
        Activations.applyInPlace(x, Activation.SILU);
    }

    @Test
    void geglu() {
        Random rnd = new Random(9);
        for (int d : new int[] {1, 3, 17, 40, 77, 1280}) {
            for (int rows : new int[] {1, 5, 33}) {
                Tensor x = Tensor.of(random(rnd, rows * 2 * d, 3f), 1, rows, 2 * d);
                for (VectorSpecies<Float> sp : AttentionTest.SPECIES) {
                    Parallel.setThreads(1);
                    Tensor one = Activations.geglu(ws, x, Activations.kernel(sp));
                    Parallel.setThreads(2);
                    Tensor two = Activations.geglu(ws, x, Activations.kernel(sp));
                    String what = "geglu rows=" + rows + " d=" + d + " " + sp;
                    assertThat(one.shape()).containsExactly(1, rows, d);
                    AttentionTest.assertBitIdentical(what, one, two);
                    for (int r = 0; r < rows; r++)
                        for (int i = 0; i < d; i++) {
                            float h = x.data()[r * 2 * d + i], g = x.data()[r * 2 * d + d + i];
                            double ref = h * VectorMathTest.geluRef(g);
                            double tol = 17 * (1 + Math.abs(g)) * Math.ulp((float) ref) + Float.MIN_VALUE * (1 + Math.abs(g));
                            float got = one.data()[r * d + i];
                            if (!(Math.abs(got - ref) <= tol)) throw new AssertionError(what + " at " + r + "," + i + ": " + got + " vs " + ref);
                        }
                    ws.release(one, two);
                }
            }
        }
        assertThatThrownBy(() -> Activations.geglu(ws, Tensor.zeros(2, 5))).hasMessageContaining("odd");
    }
}
