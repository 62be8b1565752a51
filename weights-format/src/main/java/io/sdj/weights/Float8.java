package io.sdj.weights;

/**
 * The two float8 formats safetensors stores (as PyTorch's {@code float8_e4m3fn} and {@code float8_e5m2}), decoded
 * through 256-entry tables. Every float8 value is exactly representable in float32.
 * <ul>
 *   <li>E4M3 ("fn": finite, no infinities): 1 sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is
 *       subnormal; S.1111.111 is NaN, so the largest value is 448.</li>
 *   <li>E5M2: 1 sign, 5 exponent bits (bias 15), 2 mantissa bits, IEEE-style: exponent 31 is infinity (mantissa 0)
 *       or NaN.</li>
 * </ul>
 */
final class Float8 {
    private Float8() {}

    static final float[] E4M3 = table(4, 3, 7, false);
    static final float[] E5M2 = table(5, 2, 15, true);

    private static float[] table(int expBits, int manBits, int bias, boolean ieeeSpecials) {
        float[] t = new float[256];
        int expMax = (1 << expBits) - 1, manMax = (1 << manBits) - 1;
        for (int b = 0; b < 256; b++) {
            int sign = b >>> 7, exp = (b >>> manBits) & expMax, man = b & manMax;
            double v;
            if (ieeeSpecials && exp == expMax) v = man == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            else if (!ieeeSpecials && exp == expMax && man == manMax) v = Double.NaN;
            else if (exp == 0) v = Math.scalb((double) man, 1 - bias - manBits);
            else v = Math.scalb((double) ((1 << manBits) | man), exp - bias - manBits);
            t[b] = (float) (sign == 1 ? -v : v);
        }
        return t;
    }
}
