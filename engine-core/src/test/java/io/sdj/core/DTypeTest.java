package io.sdj.core;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class DTypeTest {
    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between two bf16 values (1 and 1 + 2^-7): ties go to the even one, 1.
        assertThat(DType.bf16ToFloat(DType.floatToBf16(1f + 0x1p-8f))).isEqualTo(1f);
        // 1 + 3·2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): goes to 1 + 2^-6.
        assertThat(DType.bf16ToFloat(DType.floatToBf16(1f + 3 * 0x1p-8f))).isEqualTo(1f + 0x1p-6f);
        // just above the tie rounds up
        assertThat(DType.bf16ToFloat(DType.floatToBf16(Math.nextUp(1f + 0x1p-8f)))).isEqualTo(1f + 0x1p-7f);
        assertThat(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.NaN)))).isTrue();
        assertThat(DType.bf16ToFloat(DType.floatToBf16(Float.NEGATIVE_INFINITY))).isEqualTo(Float.NEGATIVE_INFINITY);
    }

    @Test
    void bf16RoundingIsWithinHalfAnUlpOverManyValues() {
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(20) - 10));
            float b = DType.bf16ToFloat(DType.floatToBf16(f));
            double ulp = Math.ulp(b) * 65536.0; // bf16 has 16 fewer mantissa bits
            assertThat(Math.abs((double) b - f)).isLessThanOrEqualTo(ulp / 2);
        }
    }
}
