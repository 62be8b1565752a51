package io.sdj.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/**
 * Sweeps the vectorised functions over the whole float range (every 4099th bit pattern of both signs — about 2·10⁶
 * values covering every exponent — plus ±0, ±Float.MIN_VALUE, ±88…89, ±103…105, ±MAX, ±∞, NaN) against double
 * references and asserts the worst-case errors documented in {@link VectorMath}, for the 128-bit, 256-bit and
 * preferred species. Error unit: ulp of the float nearest the reference; where |reference| < 2⁻¹²⁶·max(1, |x|), the
 * subnormal spacing 2⁻¹⁴⁹ times max(1, |x|) (an absolute bound: products like x·e⁻ˣ inherit it from a subnormal e⁻ˣ).
 */
class VectorMathTest {
    static float[] sweep() {
        int step = 4099;
        int count = (int) ((1L << 32) / step) + 64;
        float[] v = new float[count];
        int n = 0;
        for (long bits = 0; bits < (1L << 32); bits += step) v[n++] = Float.intBitsToFloat((int) bits);
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 88f, 88.5f, 88.72f, 88.73f, 89f,
                -88.72f, -87.3f, -103f, -103.9f, -104f, -105f, 103.5f, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0.4f, -0.4f, 1f, -1f, 3.92f, -3.92f, 9.1f,
                10.4f, -10.4f, -14.7f, -14.8f, -15f, 0.39999998f, 1.4142135f, -1.4142135f, 0.99999994f};
        for (float s : special) v[n++] = s;
        return java.util.Arrays.copyOf(v, n);
    }

    static final float[] X = sweep();

    static float[] map(VectorSpecies<Float> sp, float[] in, UnaryOperator<FloatVector> f) {
        float[] out = new float[in.length];
        int i = 0, l = sp.length();
        for (; i + l <= in.length; i += l) f.apply(FloatVector.fromArray(sp, in, i)).intoArray(out, i);
        if (i < in.length) {
            var m = sp.indexInRange(i, in.length);
            f.apply(FloatVector.fromArray(sp, in, i, m)).intoArray(out, i, m);
        }
        return out;
    }

    /** Max error in ulp over the sweep; NaN/∞ handling checked exactly. */
    static double maxUlp(String name, UnaryOperator<FloatVector> f, DoubleUnaryOperator ref) {
        return maxUlp(name, X, f, ref);
    }

    static double maxUlp(String name, float[] xs, UnaryOperator<FloatVector> f, DoubleUnaryOperator ref) {
        return maxUlp(name, xs, f, ref, x -> 1);
    }

    /** As above with the error divided by {@code scale(x)} (condition of the float argument rounding). */
    static double maxUlp(String name, float[] xs, UnaryOperator<FloatVector> f, DoubleUnaryOperator ref, DoubleUnaryOperator scale) {
        float[] X = xs;
        double worst = 0, worstRef = 0;
        float worstX = 0, worstGot = 0;
        for (VectorSpecies<Float> sp : AttentionTest.SPECIES) {
            float[] got = map(sp, X, f);
            for (int i = 0; i < X.length; i++) {
                double r = ref.applyAsDouble(X[i]);
                float g = got[i];
                if (Double.isNaN(r)) {
                    assertThat(Float.isNaN(g)).as(name + "(" + X[i] + ") = " + g + ", expected NaN").isTrue();
                    continue;
                }
                float rf = (float) r;
                if (Float.isInfinite(rf)) {
                    assertThat(g).as(name + "(" + X[i] + ") " + sp).isEqualTo(rf);
                    continue;
                }
                assertThat(Float.isNaN(g) || Float.isInfinite(g)).as(name + "(" + X[i] + ") = " + g + ", expected " + r + " " + sp).isFalse();
                // below MIN_NORMAL: absolute, in units of the subnormal spacing scaled by |x| (products like x·e^x)
                double unit = Math.max(Math.ulp(rf), Math.abs(rf) < Float.MIN_NORMAL * Math.max(1, Math.abs(X[i])) ? Float.MIN_VALUE * Math.max(1, Math.abs(X[i])) : 0);
                double e = Math.abs(g - r) / unit / scale.applyAsDouble(X[i]);
                if (e > worst) { worst = e; worstX = X[i]; worstGot = g; worstRef = r; }
            }
        }
        System.out.printf("%s: worst error %.3f ulp at x = %s (got %s, reference %s)%n", name, worst, worstX, worstGot, worstRef);
        return worst;
    }

    /** erfc(z) for z ≥ 0 in double: 1 − erf below 2.5, the continued fraction above. */
    static double erfc(double z) {
        if (z < 2.5) return 1 - Erf.erf(z);
        if (z > 27) return 0;
        double f = z;
        for (int j = 2000; j >= 1; j--) f = z + (j / 2.0) / f;
        return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
    }

    static double geluRef(double x) {
        double z = x / Math.sqrt(2);
        return z < 0 ? 0.5 * x * erfc(-z) : 0.5 * x * (1 + Erf.erf(z));
    }

    @Test
    void exp() {
        assertThat(maxUlp("exp", VectorMath::exp, Math::exp)).isLessThanOrEqualTo(1.5);
    }

    @Test
    void exp2NonPositive() {
        float[] nonPositive = nonPositiveOf(X);
        assertThat(maxUlp("exp2 (x ≤ 0; below -126 flushed to 2^-126)", nonPositive, VectorMath::exp2NonPositive,
                x -> Math.pow(2, Math.max(x, -126)))).isLessThanOrEqualTo(1.5);
    }

    static float[] nonPositiveOf(float[] xs) {
        float[] out = new float[xs.length];
        int n = 0;
        for (float x : xs) if (!(x > 0)) out[n++] = x;
        return java.util.Arrays.copyOf(out, n);
    }

    @Test
    void tanh() {
        assertThat(maxUlp("tanh", VectorMath::tanh, Math::tanh)).isLessThanOrEqualTo(2.5);
    }

    @Test
    void erf() {
        assertThat(maxUlp("erf", VectorMath::erf, Erf::erf)).isLessThanOrEqualTo(3.0);
    }

    @Test
    void gelu() {
        assertThat(maxUlp("gelu", VectorMath::gelu, VectorMathTest::geluRef)).isLessThanOrEqualTo(12.0);
    }

    @Test
    void sigmoid() {
        assertThat(maxUlp("sigmoid", VectorMath::sigmoid, x -> x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))))
                .isLessThanOrEqualTo(2.5);
    }

    @Test
    void expNonPositiveOnItsDomain() {
        // its callers clamp the argument to [−104, 0] and never pass NaN
        float[] z = nonPositiveOf(X);
        int n = 0;
        for (float v : z) if (v >= -104f) z[n++] = v;
        assertThat(maxUlp("exp (−104 ≤ z ≤ 0)", java.util.Arrays.copyOf(z, n), VectorMath::expNonPositive, Math::exp))
                .isLessThanOrEqualTo(1.0);
    }

    @Test
    void siluQuickGeluGeluTanh() {
        assertThat(maxUlp("silu", VectorMath::silu, x -> x / (1 + Math.exp(-x)))).isLessThanOrEqualTo(4.0);
        // the exp argument a is rounded to float (as in PyTorch's float evaluation), which costs up to ~|a| ulp:
        // these errors are stated in units of (1 + |a|) ulp
        assertThat(maxUlp("quick_gelu [(1+|a|) ulp]", X, VectorMath::quickGelu, x -> x / (1 + Math.exp(-1.702 * x)),
                x -> 1 + Math.abs(1.702 * x))).isLessThanOrEqualTo(4.0);
        assertThat(maxUlp("gelu_tanh [(1+|a|) ulp]", X, VectorMath::geluTanh,
                x -> x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
                x -> 1 + Math.abs(2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))).isLessThanOrEqualTo(4.0);
    }
}
