package io.sdj.ops;

import io.sdj.core.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The 16-bit widening against plain references for all 65536 bit patterns of each type: binary16 against the value
 * its fields denote (computed in double from sign, exponent and fraction) and against {@link Float#float16ToFloat};
 * bfloat16 against the float32 whose upper half it is. Run through the vector loop, the scalar tail and both
 * destinations (heap array, off-heap segment), repeatedly so the JIT-compiled loops are checked too.
 */
class HalfFloatsTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    /** The float32 bits binary16 pattern h denotes, from its definition (NaNs: sign and payload kept). */
    static int f16Reference(int h) {
        int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
        if (exp == 0x1f) return sign << 31 | 0x7f800000 | frac << 13;
        double v = exp == 0 ? frac * Math.pow(2, -24) : (1 + frac / 1024.0) * Math.pow(2, exp - 15);
        return Float.floatToRawIntBits((float) (sign == 1 ? -v : v)) | sign << 31;   // -0.0 keeps its sign
    }

    static int bf16Reference(int h) { return (h & 0xffff) << 16; }

    @Test
    void everyF16PatternWidensExactly() { everyPattern(DType.F16); }

    @Test
    void everyBf16PatternWidensExactly() { everyPattern(DType.BF16); }

    private static void everyPattern(DType t) {
        short[] all = new short[1 << 16];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        MemorySegment src = MemorySegment.ofArray(all);
        MemorySegment dst = Arena.ofAuto().allocate(4L * (all.length + 8), 64);
        float[] heap = new float[all.length + 8];
        int counted = 0;
        for (int rep = 0; rep < 40; rep++) {
            // odd start and length: the vector loop, then the scalar tail
            int skip = rep % 3;
            int n = all.length - skip - rep % 5;
            HalfFloats.widen(t, src, 2L * skip, heap, 1, n);
            HalfFloats.widen(t, src, 2L * skip, dst, 4L * 3, n);
            for (int i = 0; i < n; i++) {
                int h = (skip + i) & 0xffff;
                int want = t == DType.F16 ? f16Reference(h) : bf16Reference(h);
                int got = Float.floatToRawIntBits(heap[1 + i]), gotSeg = Float.floatToRawIntBits(dst.get(F, 4L * (3 + i)));
                int scalar = Float.floatToRawIntBits(HalfFloats.widen(t, (short) h));
                if (got != want || gotSeg != want || scalar != want) {
                    throw new AssertionError(String.format("%s 0x%04x: vector %08x, segment %08x, scalar %08x, expected %08x", t, h, got, gotSeg, scalar, want));
                }
                counted++;
            }
        }
        assertThat(counted).isGreaterThan(40 * 65000);
    }

    @Test
    void f16AgreesWithTheJdkOnEveryNumber() {
        for (int h = 0; h < 1 << 16; h++) {
            float jdk = Float.float16ToFloat((short) h);
            float ours = HalfFloats.widen(DType.F16, (short) h);
            if (Float.isNaN(jdk)) assertThat(ours).isNaN();
            else assertThat(Float.floatToRawIntBits(ours)).as("0x%04x", h).isEqualTo(Float.floatToRawIntBits(jdk));
        }
    }

    @Test
    void bitClassesAreWhatTheyShouldBe() {
        assertThat(HalfFloats.widen(DType.F16, (short) 0x0001)).isEqualTo((float) Math.pow(2, -24));    // smallest subnormal
        assertThat(HalfFloats.widen(DType.F16, (short) 0x03ff)).isEqualTo((float) (1023 * Math.pow(2, -24)));
        assertThat(HalfFloats.widen(DType.F16, (short) 0x0400)).isEqualTo((float) Math.pow(2, -14));    // smallest normal
        assertThat(HalfFloats.widen(DType.F16, (short) 0x7bff)).isEqualTo(65504f);
        assertThat(Float.floatToRawIntBits(HalfFloats.widen(DType.F16, (short) 0x8000))).isEqualTo(0x80000000);
        assertThat(HalfFloats.widen(DType.F16, (short) 0xfc00)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(Float.floatToRawIntBits(HalfFloats.widen(DType.F16, (short) 0x7d01))).isEqualTo(0x7fa02000);   // signalling NaN kept
        assertThat(HalfFloats.widen(DType.BF16, (short) 0xbf80)).isEqualTo(-1f);
    }

    @Test
    void packingOptionIsParsed() {
        assertThat(PackedMatrix.parseKeepHalf(null)).isTrue();
        assertThat(PackedMatrix.parseKeepHalf(" Auto ")).isTrue();
        assertThat(PackedMatrix.parseKeepHalf("f32")).isFalse();
        assertThatThrownBy(() -> PackedMatrix.parseKeepHalf("f16"))
                .hasMessage("-Dsdj.weights.packed must be auto or f32, got 'f16'");
    }
}
