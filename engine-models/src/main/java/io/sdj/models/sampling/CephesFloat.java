package io.sdj.models.sampling;

/**
 * Single-precision natural logarithm, sine and cosine computed exactly as PyTorch's AVX2 normal-distribution kernel
 * computes them, so that {@link TorchGenerator} reproduces {@code torch.randn} bit for bit. The kernel uses the
 * Cephes float polynomials (via the "avx_mathfun" vector port) and is compiled by GCC with FMA contraction, so each
 * multiply whose only use is an addition becomes one fused multiply-add; this class performs the same operations in
 * the same order, fused in the same places. Accuracy is that of Cephes (a few ulp), not correct rounding: do not use
 * these as general-purpose math functions.
 */
final class CephesFloat {
    private CephesFloat() { }

    // logarithm: log(x) = log(m) + e·ln2 with m in [√½, √2), ln2 split in two parts (Q2 + Q1)
    private static final float SQRT_HALF = (float) 0.707106781186547524;
    private static final float[] LOG_POLY = {
            (float) 7.0376836292E-2, (float) -1.1514610310E-1, (float) 1.1676998740E-1, (float) -1.2420140846E-1,
            (float) 1.4249322787E-1, (float) -1.6668057665E-1, (float) 2.0000714765E-1, (float) -2.4999993993E-1,
            (float) 3.3333331174E-1};
    private static final float LN2_LO = (float) -2.12194440e-4;
    private static final float LN2_HI = (float) 0.693359375;

    // sine/cosine: reduction by multiples of π/4 in three parts, then one polynomial per octant kind
    private static final float FOUR_OVER_PI = (float) 1.27323954473516;
    private static final float MINUS_PI4_A = (float) -0.78515625;
    private static final float MINUS_PI4_B = (float) -2.4187564849853515625e-4;
    private static final float MINUS_PI4_C = (float) -3.77489497744594108e-8;
    private static final float SIN_P0 = (float) -1.9515295891E-4, SIN_P1 = (float) 8.3321608736E-3, SIN_P2 = (float) -1.6666654611E-1;
    private static final float COS_P0 = (float) 2.443315711809948E-005, COS_P1 = (float) -1.388731625493765E-003,
            COS_P2 = (float) 4.166664568298827E-002;

    /** ln(v) for v &gt; 0 (NaN for v ≤ 0; subnormals are treated as the smallest normal). */
    static float log(float v) {
        if (!(v > 0f)) return Float.NaN;
        float x = Math.max(v, Float.MIN_NORMAL);
        int bits = Float.floatToRawIntBits(x);
        float e = (float) ((bits >>> 23) - 127) + 1f;
        // mantissa scaled into [0.5, 1)
        x = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f));
        if (x < SQRT_HALF) {
            e = e - 1f;
            x = (x - 1f) + x;
        } else {
            x = x - 1f;
        }
        float z = x * x;
        float y = LOG_POLY[0];
        for (int i = 1; i < LOG_POLY.length; i++) y = Math.fma(y, x, LOG_POLY[i]);
        y = y * x;
        y = Math.fma(y, z, e * LN2_LO);
        y = Math.fma(-z, 0.5f, y);
        return Math.fma(e, LN2_HI, x + y);
    }

    /** sin(v); accurate for |v| up to a few thousand (the kernel only needs [0, 2π)). */
    static float sin(float v) {
        Reduced r = reduce(v);
        float s = (r.octant & 2) == 0 ? sinPoly(r.x, r.z) : cosPoly(r.z);
        int sign = (Float.floatToRawIntBits(v) & 0x80000000) ^ ((r.octant & 4) << 29);
        return Float.intBitsToFloat(Float.floatToRawIntBits(s) ^ sign);
    }

    /** cos(v); same range as {@link #sin}. */
    static float cos(float v) {
        Reduced r = reduce(v);
        float c = (r.octant & 2) == 0 ? cosPoly(r.z) : sinPoly(r.x, r.z);
        int sign = (~(r.octant - 2) & 4) << 29;
        return Float.intBitsToFloat(Float.floatToRawIntBits(c) ^ sign);
    }

    private record Reduced(int octant, float x, float z) { }

    private static Reduced reduce(float v) {
        float x = Math.abs(v);
        int j = (int) (x * FOUR_OVER_PI);
        j = (j + 1) & ~1; // round the octant up to even
        float y = j;
        x = Math.fma(y, MINUS_PI4_A, x);
        x = Math.fma(y, MINUS_PI4_B, x);
        x = Math.fma(y, MINUS_PI4_C, x);
        return new Reduced(j, x, x * x);
    }

    private static float cosPoly(float z) {
        float c = Math.fma(COS_P0, z, COS_P1);
        c = Math.fma(c, z, COS_P2);
        c = c * z;
        c = Math.fma(c, z, -(z * 0.5f));
        return c + 1f;
    }

    private static float sinPoly(float x, float z) {
        float s = Math.fma(SIN_P0, z, SIN_P1);
        s = Math.fma(s, z, SIN_P2);
        s = s * z;
        return Math.fma(s, x, x);
    }
}
