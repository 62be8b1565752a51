package io.sdj.ops;

import io.sdj.core.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * 16-bit floats — IEEE binary16 ({@link DType#F16}) and bfloat16 ({@link DType#BF16}), little-endian — widened to
 * float32 exactly, with integer vector operations (JDK 25's Vector API has no float16 conversion):
 * <ul>
 * <li>bfloat16 is the upper half of a float32: sign-extend to 32 bits, shift left by 16.</li>
 * <li>binary16: sign apart, the 15 magnitude bits shifted left by 13 land exponent and fraction in float32's fields;
 *     adding 112 to the exponent (127 − 15) gives every normal number; infinities and NaNs (exponent 31) get another
 *     112, so they stay infinite / NaN with their payload; subnormals (exponent 0, value f·2⁻²⁴) are made as the
 *     normal 2⁻¹⁴·(1 + f/1024) minus 2⁻¹⁴, a subtraction of normal floats that is exact (Sterbenz) — no subnormal
 *     float arithmetic anywhere.</li>
 * </ul>
 * Every one of the 65536 bit patterns of either type gives the float32 whose value it denotes (NaNs keep sign and
 * payload, signalling ones are not quieted), so a GEMM over widened 16-bit weights computes the same bits as over
 * the same weights stored as float32.
 */
final class HalfFloats {
    private static final VectorSpecies<Float> F = KernelVariant.SPECIES;
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort S16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    private static final int MAGNITUDE = 0x7fff, EXPONENT = 0x0f800000, REBIAS = 0x38000000, IMPLICIT_ONE = 0x00800000;
    /** 2⁻¹⁴, the smallest normal binary16 (REBIAS + IMPLICIT_ONE as float bits). */
    private static final float MIN_NORMAL = Float.intBitsToFloat(REBIAS + IMPLICIT_ONE);

    private HalfFloats() {}

    private static final AtomicBoolean WARMING = new AtomicBoolean();

    /**
     * Starts, once per JVM, a background thread that calls the widening loops until the JIT has compiled them. Vector
     * API code runs very slowly before C2 compiles it (every vector a heap object), and C2 compiles a whole method
     * only after some 600 calls (fewer calls over long loops get only a loop-entry compilation, which later calls do
     * not use): left to the first image, the cold loops made the first pass through a text encoder's 72 Linear
     * layers take 1.3 s instead of 0.6 s (measured 2026-12-06). Called when a 16-bit matrix is packed, so the
     * warm-up overlaps loading the model; short odd lengths over every kind of value (normal, subnormal, zero,
     * infinite, NaN) also compile the scalar tails. Only native segments, as in the kernels. ({@link KernelWarmup}
     * runs a 16-bit Linear and convolution, so the GEMM code around the widening is compiled for them too.)
     */
    static void warmUpInBackground() {
        if (WARMING.get() || WARMING.getAndSet(true)) return;
        Thread t = new Thread(() -> {
            int n = 256 + 7;
            MemorySegment src = Arena.ofAuto().allocate(2L * n, 64), dst = Arena.ofAuto().allocate(4L * n, 64);
            for (int i = 0; i < n; i++) src.set(S16, 2L * i, (short) (i * 0x3f1));
            float[] heap = new float[n];
            for (int i = 0; i < WARM_UP_CALLS; i++) {
                int len = n - (i & 7);
                for (DType type : new DType[]{DType.F16, DType.BF16}) {
                    widen(type, src, 0, dst, 0, len);
                    widen(type, src, 0, heap, 0, len);
                }
            }
        }, "sdj-widening-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Calls of each loop the warm-up makes. */
    private static final int WARM_UP_CALLS = Integer.getInteger("sdj.weights.warmUpCalls", 1000);

    /** Whether {@code t} is a 16-bit float type this class widens. */
    static boolean isHalf(DType t) { return t == DType.F16 || t == DType.BF16; }

    /** {@code n} values of type {@code t} at byte {@code srcOff} of {@code src} → floats at byte {@code dstOff} of {@code dst}. */
    static void widen(DType t, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int n) {
        int i = 0;
        if (t == DType.BF16) {
            for (; i <= n - L; i += L) bf16(src, srcOff + 2L * i).intoMemorySegment(dst, dstOff + 4L * i, ByteOrder.nativeOrder());
        } else {
            for (; i <= n - L; i += L) f16(src, srcOff + 2L * i).intoMemorySegment(dst, dstOff + 4L * i, ByteOrder.nativeOrder());
        }
        for (; i < n; i++) dst.set(F32, dstOff + 4L * i, widen(t, src.get(S16, srcOff + 2L * i)));
    }

    /** {@code n} values of type {@code t} at byte {@code srcOff} of {@code src} → {@code dst[dstOff ..]}. */
    static void widen(DType t, MemorySegment src, long srcOff, float[] dst, int dstOff, int n) {
        int i = 0;
        if (t == DType.BF16) {
            for (; i <= n - L; i += L) bf16(src, srcOff + 2L * i).intoArray(dst, dstOff + i);
        } else {
            for (; i <= n - L; i += L) f16(src, srcOff + 2L * i).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) dst[dstOff + i] = widen(t, src.get(S16, srcOff + 2L * i));
    }

    /** One value (the same bits as the vector paths). */
    static float widen(DType t, short h) {
        if (t == DType.BF16) return Float.intBitsToFloat(h << 16);
        int u = (h & MAGNITUDE) << 13;
        int e = u & EXPONENT;
        u += REBIAS;
        if (e == EXPONENT) u += REBIAS;
        int bits = e == 0 ? Float.floatToRawIntBits(Float.intBitsToFloat(u + IMPLICIT_ONE) - MIN_NORMAL) : u;
        return Float.intBitsToFloat(bits | (h & 0x8000) << 16);
    }

    /** L values, sign-extended to int lanes. */
    private static IntVector load(MemorySegment src, long off) {
        return (IntVector) ShortVector.fromMemorySegment(H, src, off, LE).convertShape(VectorOperators.S2I, I, 0);
    }

    private static FloatVector bf16(MemorySegment src, long off) {
        return load(src, off).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector f16(MemorySegment src, long off) {
        IntVector h = load(src, off);
        IntVector u = h.and(MAGNITUDE).lanewise(VectorOperators.LSHL, 13);
        IntVector e = u.and(EXPONENT);
        IntVector normal = u.add(REBIAS);
        normal = normal.add(normal.broadcast(REBIAS), e.eq(EXPONENT));
        VectorMask<Integer> subnormal = e.eq(0);
        IntVector small = normal.add(IMPLICIT_ONE).reinterpretAsFloats().sub(MIN_NORMAL).reinterpretAsInts();
        return normal.blend(small, subnormal).or(h.and(0x80000000)).reinterpretAsFloats();
    }
}
