package io.sdj.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Vectorised float32 elementary functions for the kernels' activations and softmax. Each works on a vector of any
 * species (the caller's, so it is inlined with the caller's constant species). Worst-case errors measured by
 * {@code VectorMathTest} against double-precision references ({@link Math#exp}, {@link Math#tanh}, {@link Erf#erf},
 * erfc by continued fraction) over a sweep of ~2·10⁶ floats covering every exponent of both signs plus ±88…89,
 * ±103…105, ±MAX, ±∞ and NaN, for 128-bit, 256-bit and preferred vectors; the test asserts the bounds in brackets:
 * <ul>
 *   <li>{@link #exp}: 0.95 ulp [≤ 1.5]; +∞ above ln(MAX) ≈ 88.72, subnormals down to 0 below ≈ −103.97, NaN → NaN.</li>
 *   <li>{@link #exp2NonPositive} (x ≤ 0, for softmax): 1.02 ulp [≤ 1.5]; x < −126 gives 2⁻¹²⁶·(≤ 1 ulp).</li>
 *   <li>{@link #tanh}: 1.85 ulp [≤ 2.5]; exactly ±1 from |x| ≈ 9.01, odd, NaN → NaN.</li>
 *   <li>{@link #erf}: 1.75 ulp [≤ 3]; exactly ±1 from |x| ≈ 3.92, odd, NaN → NaN.</li>
 *   <li>{@link #gelu} (erf form): 8.4 ulp [≤ 12], worst near x = −1.4 where 1 + erf(x/√2) cancels (PyTorch's float
 *       GELU cancels the same way); the tail x/√2 ≤ −1 uses erfc directly and keeps full relative accuracy.</li>
 *   <li>{@link #expNonPositive} (−104 ≤ z ≤ 0, for the sigmoid): 0.96 ulp [≤ 1]. {@link #sigmoid}: 2.0 ulp [≤ 2.5].</li>
 *   <li>{@link #silu}: 2.5 ulp [≤ 4]. {@link #quickGelu}, {@link #geluTanh}: ≤ 2.2·(1 + |a|) ulp [≤ 4·(1 + |a|)],
 *       a the exp argument (1.702x resp. 2u), whose float rounding is inherent to float evaluation.</li>
 *   <li>Where the result is tiny because e^−|x| is subnormal (|y| &lt; 2⁻¹²⁶·|x|), the error is absolute:
 *       a few · |x| · 2⁻¹⁴⁹. ±∞ and NaN follow PyTorch (e.g. silu(−∞) = NaN, gelu(+∞) = +∞).</li>
 * </ul>
 */
public final class VectorMath {
    private VectorMath() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693145751953125f;
    private static final float LN2_LO = 1.42860682030941723212e-6f;
    private static final float ROUND_MAGIC = 12582912f; // 1.5·2²³: adding it rounds to an integer in the low bits
    // exp(r) on |r| ≤ ln2/2: 1 + r + r²·P(r), minimax coefficients (Cephes expf)
    private static final float E1 = 5.0000001201e-1f, E2 = 1.6666665459e-1f, E3 = 4.1665795894e-2f,
            E4 = 8.3334519073e-3f, E5 = 1.3981999507e-3f, E6 = 1.9875691500e-4f;

    /** eˣ per lane. */
    public static FloatVector exp(FloatVector x) {
        FloatVector xc = clamp(x, -104f, 89f);
        FloatVector t = xc.fma(LOG2E, ROUND_MAGIC);
        FloatVector n = t.sub(ROUND_MAGIC);
        IntVector ni = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND_MAGIC));
        FloatVector r = n.fma(x.broadcast(-LN2_HI), xc);
        r = n.fma(x.broadcast(-LN2_LO), r);
        FloatVector p = r.fma(E6, E5).fma(r, x.broadcast(E4)).fma(r, x.broadcast(E3)).fma(r, x.broadcast(E2)).fma(r, x.broadcast(E1));
        FloatVector r2 = r.mul(r);
        p = p.fma(r2, r).add(1f);
        // 2ⁿ as two factors so that n ∈ [−151, 128] yields subnormals and overflow correctly
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector y = p.mul(s1).mul(s2);
        return y.blend(x, x.test(VectorOperators.IS_NAN));
    }

    /**
     * min(max(x, lo), hi), NaN staying NaN, by compare and blend: two instructions per bound, where
     * {@code FloatVector.max/min} follow {@link Math#max}'s rules for NaN and ±0 and compile to six.
     */
    static FloatVector clamp(FloatVector x, float lo, float hi) {
        FloatVector y = x.blend(lo, x.lt(lo));
        return y.blend(hi, y.compare(VectorOperators.GT, hi));
    }

    /** σ(x) = 1 / (1 + e⁻ˣ), NaN → NaN; see {@link #sigmoidTimes}. */
    public static FloatVector sigmoid(FloatVector x) {
        return sigmoidTimes(x, x.broadcast(1f)).blend(x, x.test(VectorOperators.IS_NAN));
    }

    private static final int SIGN_BIT = 0x80000000, MINUS_104 = Float.floatToRawIntBits(-104f);

    /**
     * a·σ(x), as a·(x ≥ 0 ? 1 : e)/(1 + e) with e = e^(−|x|) (never overflows). NaN lanes of x give a finite σ:
     * the callers multiply by x, which brings the NaN back.
     * <p>Counted in instructions, since the fused GroupNorm+SiLU is bound by them: z = max(−|x|, −104) in the
     * integer domain (set the sign bit; negative floats' bit patterns as signed ints grow with the magnitude, so the
     * clamp is a signed min: two instructions instead of eight for abs, neg and {@code FloatVector.max}); e from
     * {@link #expNonPositive} (a degree-6 polynomial); a·e only where x &lt; 0 (a masked multiply); one division
     * (a Newton reciprocal from a linear guess measured 12–15% slower: six multiply-adds instead of one divide, and
     * an Estrin-form polynomial 4% slower: more instructions for less latency).
     */
    static FloatVector sigmoidTimes(FloatVector x, FloatVector a) {
        FloatVector z = x.reinterpretAsInts().or(SIGN_BIT).min(MINUS_104).reinterpretAsFloats();
        FloatVector e = expNonPositive(z);
        return a.lanewise(VectorOperators.MUL, e, x.lt(0f)).div(e.add(1f));
    }

    /*
     * e^r on |r| ≤ 0.35 (the reduced argument: |r| ≤ ln2/2 plus rounding) for expNonPositive: the degree-6 Chebyshev
     * interpolant (truncation error < 5e-9 relative), its coefficients scaled by 2⁻⁶⁴ (exactly: a power of two,
     * and all stay normal) so that the scale by 2ⁿ⁺⁶⁴ afterwards is the only rounding into the subnormal range.
     */
    private static final float[] EXP_R = expReducedCoefficients();
    private static final float P0 = EXP_R[0], P1 = EXP_R[1], P2 = EXP_R[2], P3 = EXP_R[3], P4 = EXP_R[4],
            P5 = EXP_R[5], P6 = EXP_R[6];
    private static final int EXP_BIAS_SHIFT = 64;

    private static float[] expReducedCoefficients() {
        double half = 0.35;
        double[] a = chebyshevPolynomial(7, -half, half, Math::exp);
        float[] c = new float[a.length];
        for (int i = 0; i < a.length; i++) c[i] = (float) (a[i] / Math.pow(half, i) * 0x1p-64);
        return c;
    }

    /**
     * eᶻ for z ∈ [−104, 0] (no NaN): n = round(z·log₂e), r = z − n·ln2 (two-part ln2), e^r by a Horner polynomial
     * pre-scaled by 2⁻⁶⁴, times 2ⁿ⁺⁶⁴ (a normal float for every n ≥ −190): results in the subnormal range are
     * rounded once, by that product.
     */
    static FloatVector expNonPositive(FloatVector z) {
        FloatVector t = z.fma(LOG2E, ROUND_MAGIC_BIASED);
        FloatVector n = t.sub(ROUND_MAGIC_BIASED);
        FloatVector r = n.fma(z.broadcast(-LN2_HI), z);
        r = n.fma(z.broadcast(-LN2_LO), r);
        FloatVector p = r.fma(P6, P5).fma(r, z.broadcast(P4)).fma(r, z.broadcast(P3)).fma(r, z.broadcast(P2))
                .fma(r, z.broadcast(P1)).fma(r, z.broadcast(P0));
        // t's bits are those of 1.5·2²³ (low nine bits zero) plus n + 127 + 64: shifted left by 23 they are exactly
        // the float 2ⁿ⁺⁶⁴ (one shift instead of an integer add and a shift)
        FloatVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale);
    }

    /** 1.5·2²³ + 127 + 64: adding it rounds to an integer and leaves n + 127 + 64 in the low bits. */
    private static final float ROUND_MAGIC_BIASED = ROUND_MAGIC + 127 + EXP_BIAS_SHIFT;

    /** SiLU x·σ(x). */
    public static FloatVector silu(FloatVector x) {
        return sigmoidTimes(x, x);
    }

    /** Quick GELU x·σ(1.702x). */
    public static FloatVector quickGelu(FloatVector x) {
        return sigmoidTimes(x.mul(1.702f), x);
    }

    private static final float SQRT_2_OVER_PI = 0.7978845608028654f;

    /**
     * GELU, tanh approximation: 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715x³), computed as the identical
     * x·σ(2u), which has no cancellation for negative x.
     */
    public static FloatVector geluTanh(FloatVector x) {
        FloatVector u = x.mul(x).fma(0.044715f, 1f).mul(x).mul(2f * SQRT_2_OVER_PI);
        return sigmoidTimes(u, x);
    }

    // tanh on |x| < 0.4: Taylor series x·(1 + x²·T(x²)) (next term < 4e-9 relative)
    private static final float T1 = -1f / 3, T2 = 2f / 15, T3 = -17f / 315, T4 = 62f / 2835, T5 = -1382f / 155925,
            T6 = 21844f / 6081075;

    /** tanh(x). */
    public static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs();
        // |x| ≥ 0.4: 1 − 2 / (e^{2|x|} + 1), sign restored
        FloatVector e1 = exp(ax.add(ax)).add(1f);
        FloatVector big = e1.broadcast(2f).div(e1).neg().add(1f);
        big = big.blend(big.neg(), x.lt(0f));
        FloatVector x2 = x.mul(x);
        FloatVector p = x2.fma(T6, T5).fma(x2, x.broadcast(T4)).fma(x2, x.broadcast(T3)).fma(x2, x.broadcast(T2))
                .fma(x2, x.broadcast(T1)).mul(x2);
        return big.blend(p.fma(x, x), ax.lt(0.4f));
    }

    /*
     * erf on |x| < 1: x·g(x²) with g(w) = erf(√w)/√w, an 8-term Chebyshev interpolant in t = 2w − 1 ∈ [−1, 1]
     * (truncation < 4e-11), computed once in double from the Maclaurin series and evaluated as a polynomial in t.
     */
    private static final float[] GC = chebyshevAsPolynomial(8, 0, 1, w -> {
        if (w == 0) return 2 / Math.sqrt(Math.PI);
        double z = Math.sqrt(w);
        return Erf.erf(z) / z;
    });
    private static final float A0 = GC[0], A1 = GC[1], A2 = GC[2], A3 = GC[3], A4 = GC[4], A5 = GC[5], A6 = GC[6],
            A7 = GC[7];

    /**
     * The {@code terms}-term Chebyshev interpolant of f over [lo, hi], as coefficients a_i of Σ a_i·tⁱ with
     * t = (2u − lo − hi)/(hi − lo) (computed in double, rounded to float).
     */
    static float[] chebyshevAsPolynomial(int terms, double lo, double hi, java.util.function.DoubleUnaryOperator f) {
        double[] a = chebyshevPolynomial(terms, lo, hi, f);
        float[] r = new float[terms];
        for (int i = 0; i < terms; i++) r[i] = (float) a[i];
        return r;
    }

    /** As {@link #chebyshevAsPolynomial}, in double. */
    static double[] chebyshevPolynomial(int terms, double lo, double hi, java.util.function.DoubleUnaryOperator f) {
        int n = 64;
        double[] cheb = new double[terms];
        for (int j = 0; j < terms; j++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                double th = Math.PI * (i + 0.5) / n;
                s += f.applyAsDouble(lo + (hi - lo) * (Math.cos(th) + 1) / 2) * Math.cos(j * th);
            }
            cheb[j] = 2 * s / n;
        }
        cheb[0] /= 2;
        // Σ c_k T_k(t) → Σ a_i tⁱ via T_{k+1} = 2t·T_k − T_{k−1}
        double[][] t = new double[terms][terms];
        t[0][0] = 1;
        if (terms > 1) t[1][1] = 1;
        for (int k = 2; k < terms; k++) {
            for (int i = 0; i < terms; i++) t[k][i] = -t[k - 2][i] + (i > 0 ? 2 * t[k - 1][i - 1] : 0);
        }
        double[] a = new double[terms];
        for (int i = 0; i < terms; i++) {
            double sum = 0;
            for (int k = 0; k < terms; k++) sum += cheb[k] * t[k][i];
            a[i] = sum;
        }
        return a;
    }

    /*
     * erfc(z) for z ≥ 1 as e^(−z²)·k(1/z) / (z·√π), where k(u) = z·√π·e^(z²)·erfc(z) is smooth and slowly varying
     * (k → 1 as z → ∞). k is the 12-term Chebyshev interpolant over u ∈ [U_LO, 1] (z ≤ 11.1, beyond which erfc
     * underflows), computed once in double from Erf.erf (z < 2.5) and erfc's continued fraction (z ≥ 2.5), and
     * evaluated as a polynomial in t = affine(u) ∈ [−1, 1] (Σ|coefficients| ≈ 1.06, so Horner in float is stable),
     * its even and odd powers as two Horner chains in t² (half the dependency chain of one). Truncation error at most
     * 1.3e-8 (the dropped Chebyshev coefficients add up to 1.2e-8), 0.2 ulp of k (14 terms: about 3e-10).
     */
    private static final double U_LO = 0.09;
    private static final float[] KC = chebyshevAsPolynomial(12, U_LO, 1, VectorMath::kReference);
    private static final float K0 = KC[0], K1 = KC[1], K2 = KC[2], K3 = KC[3], K4 = KC[4], K5 = KC[5], K6 = KC[6],
            K7 = KC[7], K8 = KC[8], K9 = KC[9], K10 = KC[10], K11 = KC[11];
    private static final float T_SCALE = (float) (2 / (1 - U_LO)), T_SHIFT = (float) (-(1 + U_LO) / (1 - U_LO));
    private static final float INV_SQRT_PI = (float) (1 / Math.sqrt(Math.PI));

    static double kReference(double u) {
        if (u == 0) return 1;
        double z = 1 / u;
        if (z < 2.5) return z * Math.sqrt(Math.PI) * Math.exp(z * z) * (1 - Erf.erf(z));
        double f = z;
        for (int j = 400; j >= 1; j--) f = z + (j / 2.0) / f;
        return z / f;
    }

    private static FloatVector kPoly(FloatVector t) {
        FloatVector w = t.mul(t);
        FloatVector even = w.fma(w.broadcast(K10), w.broadcast(K8)).fma(w, w.broadcast(K6)).fma(w, w.broadcast(K4))
                .fma(w, w.broadcast(K2)).fma(w, w.broadcast(K0));
        FloatVector odd = w.fma(w.broadcast(K11), w.broadcast(K9)).fma(w, w.broadcast(K7)).fma(w, w.broadcast(K5))
                .fma(w, w.broadcast(K3)).fma(w, w.broadcast(K1));
        return odd.fma(t, even);
    }

    /** erfc(z) for lanes with 1 ≤ z ≤ 11, given z² = zz + zzLo exactly (other lanes: unspecified). */
    private static FloatVector erfcLarge(FloatVector z, FloatVector zz, FloatVector zzLo) {
        return expMinusSquare(zz, zzLo).mul(erfcxLarge(z));
    }

    /** erfcx(z) = e^(z²)·erfc(z) = k(1/z) / (z·√π) for lanes with 1 ≤ z ≤ 11 (other lanes: unspecified). */
    private static FloatVector erfcxLarge(FloatVector z) {
        FloatVector u = z.broadcast(1f).div(z);
        return kPoly(u.fma(T_SCALE, T_SHIFT)).mul(u.mul(INV_SQRT_PI));
    }

    /**
     * e^(−z²) given z² = zz + zzLo exactly, zz ≥ 0: e^(−zz)·(1 − zzLo), the low part folded in to first order;
     * −zz is clamped at −104 in the integer domain (set the sign bit, signed min), below which the result is 0.
     */
    private static FloatVector expMinusSquare(FloatVector zz, FloatVector zzLo) {
        FloatVector e = expNonPositive(zz.reinterpretAsInts().or(SIGN_BIT).min(MINUS_104).reinterpretAsFloats());
        return e.mul(zzLo.neg().add(1f));
    }

    private static FloatVector erfSmall(FloatVector x) {
        FloatVector t = x.mul(x).fma(2f, -1f);
        FloatVector p = t.fma(A7, A6).fma(t, t.broadcast(A5)).fma(t, t.broadcast(A4)).fma(t, t.broadcast(A3))
                .fma(t, t.broadcast(A2)).fma(t, t.broadcast(A1)).fma(t, t.broadcast(A0));
        return p.mul(x);
    }

    /** erf(x). */
    public static FloatVector erf(FloatVector x) {
        FloatVector small = erfSmall(x);
        FloatVector ax = x.abs();
        FloatVector z = clamp(ax, 1f, 10f);
        FloatVector zz = z.mul(z), zzLo = z.fma(z, zz.neg());
        FloatVector big = erfcLarge(z, zz, zzLo).neg().add(1f);
        big = big.blend(big.neg(), x.lt(0f));
        FloatVector r = big.blend(small, ax.lt(1f));
        return r.blend(x, x.test(VectorOperators.IS_NAN));
    }

    private static final float INV_SQRT2 = 0.70710678118654752f;

    /**
     * GELU (PyTorch's default, exact erf form) 0.5·x·(1 + erf(x/√2)). For |x/√2| ≥ 1 it uses 1 + erf(z) = erfc(−z)
     * (or 2 − erfc(z)), with z² = x²/2 taken exactly, so the negative tail keeps its relative accuracy down to
     * underflow.
     */
    public static FloatVector gelu(FloatVector x) {
        return geluFar(x).blend(geluNear(x), x.abs().lt(SQRT2));
    }

    private static final float SQRT2 = 1.41421356f;
    private static final int SQRT2_BITS = Float.floatToRawIntBits(SQRT2), GELU_FAR_MAX_BITS = Float.floatToRawIntBits(10.5f * SQRT2);

    /** GELU for |x| &lt; √2 (other lanes: unspecified): 0.5·x·(1 + erf(x/√2)) with the small-argument erf. */
    public static FloatVector geluNear(FloatVector x) {
        return x.mul(0.5f).mul(erfSmall(x.mul(INV_SQRT2)).add(1f));
    }

    /**
     * GELU for |x| ≥ √2 (other lanes: unspecified), from erfc = e^(−x²/2)·erfcx(|x|/√2). Kernels call
     * {@link #geluNear} and this in separate passes: inlined together with exp they exceed the JIT's per-method
     * inlining budget and fall back to boxing (and the fused GEGLU epilogue splits this one in two as well).
     */
    public static FloatVector geluFar(FloatVector x) {
        return geluFar(x, geluFarErfcx(x));
    }

    /** |x| clamped to [√2, 10.5·√2] in the integer domain (positive floats order as their bits; NaN → the top). */
    private static FloatVector geluFarArgument(FloatVector x) {
        return x.reinterpretAsInts().and(~SIGN_BIT).max(SQRT2_BITS).min(GELU_FAR_MAX_BITS).reinterpretAsFloats();
    }

    /**
     * The first half of {@link #geluFar}: erfcx(z) for z = |x|/√2 (|x| clamped to the far range). Kernels whose loop
     * cannot hold the whole far form within the JIT's node budget compute this in one pass and
     * {@link #geluFar(FloatVector, FloatVector)} in another; each pass's dependency chain is also half as long.
     */
    static FloatVector geluFarErfcx(FloatVector x) {
        return erfcxLarge(geluFarArgument(x).mul(INV_SQRT2));
    }

    /** GELU for |x| ≥ √2 (other lanes: unspecified), given {@code erfcx} = {@link #geluFarErfcx}(x). */
    static FloatVector geluFar(FloatVector x, FloatVector erfcx) {
        FloatVector xc = geluFarArgument(x);
        FloatVector xx = xc.mul(xc), xxLo = xc.fma(xc, xx.neg());
        FloatVector c = expMinusSquare(xx.mul(0.5f), xxLo.mul(0.5f)).mul(erfcx);
        FloatVector onePlusErf = c.blend(c.neg().add(2f), x.compare(VectorOperators.GT, 0f));
        // far negative tail: erfc underflows to 0 and the result to −0 (NaN for x = −∞, as PyTorch)
        FloatVector y = x.mul(0.5f).mul(onePlusErf);
        return y.blend(x, x.test(VectorOperators.IS_NAN));
    }

    // 2^r on |r| ≤ 1/2: the exp polynomial above in r·ln2 (coefficients E_k·ln2^(k+1))
    private static final float LN2 = 0.6931471805599453f;
    private static final float F1 = (float) (5.0000001201e-1 * 0.4804530139182014), F2 = (float) (1.6666665459e-1 * 0.3330246519889294),
            F3 = (float) (4.1665795894e-2 * 0.2308350985830834), F4 = (float) (8.3334519073e-3 * 0.1600026977571413),
            F5 = (float) (1.3981999507e-3 * 0.1109040280551225), F6 = (float) (1.9875691500e-4 * 0.0768727750536069);

    /**
     * 2ˣ for x ≤ 0 (softmax weights from log2-scaled scores): ≤ 2 ulp; results below 2⁻¹²⁶ flush to 2⁻¹²⁶·p
     * (x is clamped at −126), which is harmless next to the row's maximum weight 1.
     */
    public static FloatVector exp2NonPositive(FloatVector x) {
        FloatVector xc = x.blend(-126f, x.lt(-126f));
        FloatVector t = xc.add(ROUND_MAGIC);
        FloatVector n = t.sub(ROUND_MAGIC);
        FloatVector r = xc.sub(n);
        FloatVector q = r.fma(F6, F5).fma(r, x.broadcast(F4)).fma(r, x.broadcast(F3)).fma(r, x.broadcast(F2))
                .fma(r, x.broadcast(F1));
        FloatVector p = q.fma(r.mul(r), r.fma(LN2, 1f));
        FloatVector scale = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND_MAGIC) - 127)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale);
    }

    /**
     * Sum of the lanes in lane order, via {@code tmp} (≥ the vector's length). Unlike
     * {@code reduceLanes(ADD)}, whose association order may differ between the interpreter and compiled code, this
     * gives the same bits every time, which keeps the kernels reproducible.
     */
    public static float sumLanes(FloatVector v, float[] tmp) {
        v.intoArray(tmp, 0);
        float s = 0;
        for (int i = 0, n = v.length(); i < n; i++) s += tmp[i];
        return s;
    }

    /** Applies {@code act} per lane. */
    public static FloatVector apply(FloatVector x, Activation act) {
        return switch (act) {
            case NONE -> x;
            case SILU -> silu(x);
            case GELU -> gelu(x);
            case GELU_TANH -> geluTanh(x);
            case QUICK_GELU -> quickGelu(x);
            case RELU -> x.max(0f);
        };
    }
}
