package io.sdj.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The register-blocked GEMM micro-kernels: an {@link #MR}×{@link #NR} tile of C ({@link #MR} rows × two vectors) kept
 * in accumulators over a K slice, fp32 fused multiply-add. {@link KernelVariant} picks the vector species and MR once
 * per JVM: 6 rows (12 accumulators) where the JIT has 32 vector registers, 4 rows (8 accumulators) where it has 16 —
 * with 6 rows, 16 registers left C2 keeping an accumulator on the stack (see {@link KernelVariant}). Both are
 * {@code static final} constants, so the JIT compiles the kernels to plain SIMD and drops the branches on MR; every
 * kernel is written for any lane count, and the tests run every variant in child JVMs.
 * <p>Two operand arrangements:
 * <ul>
 * <li>{@link #rowsTimesPanel} / {@link #packed12RowsTimesPanel} / {@link #packed4RowsTimesPanel}: A six rows read in
 *     place, or a packed panel {@code [k][12]} (32 registers) or {@code [k][4]} (16 registers) on the heap, broadcast
 *     one element at a time; B a pre-packed off-heap panel
 *     {@code [k][NR]} (token-major {@link Linear}: weights are the vector operand);</li>
 * <li>{@link #panelTimesTile}: A a packed panel {@code [k][MR]} (broadcast; the caller copies it from the off-heap
 *     weights), B a per-call packed tile {@code [k][NR]} (NCHW {@link Conv2d}: weights broadcast, pixels are the vector
 *     operand).</li>
 * </ul>
 * A kernel only stores its rows of sums: straight into C for a whole tile's first K slice, else into a small
 * buffer; {@link #storeTile} then adds later slices to C and, after the last slice, applies the {@link GemmEpilogue}
 * (bias, activation, residual). The order of operations depends only on the tile's position, never on
 * the thread that runs it, so results are bit-identical for any thread count.
 */
final class GemmKernel {
    static final VectorSpecies<Float> S = KernelVariant.SPECIES;
    /** Lanes per vector. */
    static final int L = S.length();
    /** Rows of the register tile: 6 or 4. */
    static final int MR = KernelVariant.MR;
    /** Rows of {@link Gemm#multiply}'s register tile (A the activations): 12 or 4 packed, or 6 read in place. */
    static final int MRA = KernelVariant.LINEAR_ROWS;
    /** Columns of the register tile: two vectors. */
    static final int NR = 2 * L;
    /**
     * Lane indices 0, 2, 4 … and 1, 3, 5 … into two concatenated vectors, for {@code selectFrom}: the even and the odd
     * elements of 2·L consecutive floats (stride-2 convolutions).
     */
    static final float[] EVEN_LANES = new float[L], ODD_LANES = new float[L];
    static {
        for (int j = 0; j < L; j++) {
            EVEN_LANES[j] = 2 * j;
            ODD_LANES[j] = 2 * j + 1;
        }
    }

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private GemmKernel() {}

    /** Mask of the first {@code n} lanes of vector {@code v} (0 or 1) of a tile row with {@code n} valid columns. */
    static VectorMask<Float> mask(int v, int n) {
        return S.indexInRange(v * L, n);
    }

    /**
     * acc[r, j] = Σ_k A[r, k]·B[k, j] over one K slice for a 6 × NR tile (the 32-register variants).
     * A rows start at {@code a[a0..a5 + k]} (rows past the matrix may repeat a valid row: their results are not
     * stored); B is the packed panel at byte offset {@code bOff}, NR floats per k. The 6 × NR sums go to {@code out[o + r·ldo + j]}.
     */
    static void rowsTimesPanel(float[] a, int a0, int a1, int a2, int a3, int a4, int a5,
                               MemorySegment b, long bOff, int kc, float[] out, int o, int ldo) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        long bo = bOff;
        final long step = (long) NR * Float.BYTES, half = (long) L * Float.BYTES;
        for (int k = 0; k < kc; k++, bo += step) {
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bo, NATIVE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bo + half, NATIVE);
            FloatVector v = FloatVector.broadcast(S, a[a0 + k]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[a1 + k]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[a2 + k]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[a3 + k]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[a4 + k]);
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[a5 + k]);
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
        }
        c00.intoArray(out, o); c01.intoArray(out, o + L);
        c10.intoArray(out, o + ldo); c11.intoArray(out, o + ldo + L);
        c20.intoArray(out, o + 2 * ldo); c21.intoArray(out, o + 2 * ldo + L);
        c30.intoArray(out, o + 3 * ldo); c31.intoArray(out, o + 3 * ldo + L);
        c40.intoArray(out, o + 4 * ldo); c41.intoArray(out, o + 4 * ldo + L);
        c50.intoArray(out, o + 5 * ldo); c51.intoArray(out, o + 5 * ldo + L);
    }


    /**
     * The 4-row kernel of {@link #rowsTimesPanel} with A packed: {@code a[aOff + k·4 + r]} (16 registers).
     */
    static void packed4RowsTimesPanel(float[] a, int aOff, MemorySegment b, long bOff, int kc, float[] out, int o, int ldo) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        long bo = bOff;
        final long step = (long) NR * Float.BYTES, half = (long) L * Float.BYTES;
        for (int k = 0, ao = aOff; k < kc; k++, bo += step, ao += 4) {
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bo, NATIVE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bo + half, NATIVE);
            FloatVector v = FloatVector.broadcast(S, a[ao]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ao + 1]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ao + 2]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ao + 3]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
        }
        c00.intoArray(out, o); c01.intoArray(out, o + L);
        c10.intoArray(out, o + ldo); c11.intoArray(out, o + ldo + L);
        c20.intoArray(out, o + 2 * ldo); c21.intoArray(out, o + 2 * ldo + L);
        c30.intoArray(out, o + 3 * ldo); c31.intoArray(out, o + 3 * ldo + L);
    }

    /**
     * The 12-row kernel of {@link #rowsTimesPanel} with A packed: {@code a[aOff + k·12 + r]} (AVX-512: 24 accumulators,
     * 2 B vectors and the broadcasts fit its 32 registers). Per k it issues twice the FMAs of the 6-row kernel for the
     * same two B loads and one A index, so the loop's scalar work (index arithmetic, loop test) takes a smaller share
     * of the issue slots: with the operands in L1/L2 it ran at 180–190 GFLOP/s on one thread against 145–155 for the
     * 6-row kernel reading A in place and 160 for the 6-row kernel of {@link #blockedRowsTimesPanel} (AVX-512 host, FMA
     * peak ~226, 2026-12-06). Packing A costs three gathers per L/4 steps of k ({@link #packRows}).
     */
    static void packed12RowsTimesPanel(float[] a, int aOff, MemorySegment b, long bOff, int kc, float[] out, int o, int ldo) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S), c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        FloatVector c80 = FloatVector.zero(S), c81 = FloatVector.zero(S), c90 = FloatVector.zero(S), c91 = FloatVector.zero(S);
        FloatVector ca0 = FloatVector.zero(S), ca1 = FloatVector.zero(S), cb0 = FloatVector.zero(S), cb1 = FloatVector.zero(S);
        long bo = bOff;
        final long step = (long) NR * Float.BYTES, half = (long) L * Float.BYTES;
        for (int k = 0, ao = aOff; k < kc; k++, ao += 12, bo += step) {
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bo, NATIVE);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bo + half, NATIVE);
            FloatVector v = FloatVector.broadcast(S, a[ao]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ao + 1]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ao + 2]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ao + 3]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ao + 4]);
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ao + 5]);
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            v = FloatVector.broadcast(S, a[ao + 6]);
            c60 = v.fma(b0, c60); c61 = v.fma(b1, c61);
            v = FloatVector.broadcast(S, a[ao + 7]);
            c70 = v.fma(b0, c70); c71 = v.fma(b1, c71);
            v = FloatVector.broadcast(S, a[ao + 8]);
            c80 = v.fma(b0, c80); c81 = v.fma(b1, c81);
            v = FloatVector.broadcast(S, a[ao + 9]);
            c90 = v.fma(b0, c90); c91 = v.fma(b1, c91);
            v = FloatVector.broadcast(S, a[ao + 10]);
            ca0 = v.fma(b0, ca0); ca1 = v.fma(b1, ca1);
            v = FloatVector.broadcast(S, a[ao + 11]);
            cb0 = v.fma(b0, cb0); cb1 = v.fma(b1, cb1);
        }
        c00.intoArray(out, o); c01.intoArray(out, o + L);
        c10.intoArray(out, o + ldo); c11.intoArray(out, o + ldo + L);
        c20.intoArray(out, o + 2 * ldo); c21.intoArray(out, o + 2 * ldo + L);
        c30.intoArray(out, o + 3 * ldo); c31.intoArray(out, o + 3 * ldo + L);
        c40.intoArray(out, o + 4 * ldo); c41.intoArray(out, o + 4 * ldo + L);
        c50.intoArray(out, o + 5 * ldo); c51.intoArray(out, o + 5 * ldo + L);
        c60.intoArray(out, o + 6 * ldo); c61.intoArray(out, o + 6 * ldo + L);
        c70.intoArray(out, o + 7 * ldo); c71.intoArray(out, o + 7 * ldo + L);
        c80.intoArray(out, o + 8 * ldo); c81.intoArray(out, o + 8 * ldo + L);
        c90.intoArray(out, o + 9 * ldo); c91.intoArray(out, o + 9 * ldo + L);
        ca0.intoArray(out, o + 10 * ldo); ca1.intoArray(out, o + 10 * ldo + L);
        cb0.intoArray(out, o + 11 * ldo); cb1.intoArray(out, o + 11 * ldo + L);
    }


    /**
     * {@link #panelTimesTile} for 6-row tiles at 16 registers, k unrolled by two. The one-step loop of
     * {@link #panelTimesTile6} compiled at 16 ymm registers kept an accumulator on the stack (load, FMA, store each
     * step: 68 instead of 100 GFLOP/s in L1); this form compiled without spills (JDK 25, {@code -XX:UseAVX=2}).
     */
    private static void panelTimesTile6x2(float[] a, int aOff, float[] b, int bOff, int kc, float[] out, int o, int ldo) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector b0, b1, v;
        int k = 0, ao = aOff, bo = bOff;
        for (; k + 1 < kc; k += 2, bo += 2 * NR, ao += 12) {
            b0 = FloatVector.fromArray(S, b, bo);
            b1 = FloatVector.fromArray(S, b, bo + L);
            v = FloatVector.broadcast(S, a[ao + 0]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ao + 1]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ao + 2]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ao + 3]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ao + 4]);
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ao + 5]);
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            b0 = FloatVector.fromArray(S, b, bo + NR);
            b1 = FloatVector.fromArray(S, b, bo + NR + L);
            v = FloatVector.broadcast(S, a[ao + 6]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ao + 7]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ao + 8]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ao + 9]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ao + 10]);
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ao + 11]);
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
        }
        for (; k < kc; k++, bo += NR, ao += 6) {
            b0 = FloatVector.fromArray(S, b, bo);
            b1 = FloatVector.fromArray(S, b, bo + L);
            v = FloatVector.broadcast(S, a[ao + 0]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ao + 1]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ao + 2]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ao + 3]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ao + 4]);
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ao + 5]);
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
        }
        c00.intoArray(out, o); c01.intoArray(out, o + L);
        c10.intoArray(out, o + 1 * ldo); c11.intoArray(out, o + 1 * ldo + L);
        c20.intoArray(out, o + 2 * ldo); c21.intoArray(out, o + 2 * ldo + L);
        c30.intoArray(out, o + 3 * ldo); c31.intoArray(out, o + 3 * ldo + L);
        c40.intoArray(out, o + 4 * ldo); c41.intoArray(out, o + 4 * ldo + L);
        c50.intoArray(out, o + 5 * ldo); c51.intoArray(out, o + 5 * ldo + L);
    }

    /**
     * {@link #rowsTimesPanel} (6 rows, the 32-register variants) with A in row blocks: for each NR-wide slice of K,
     * the 6 rows one after another, {@code a[aOff + (k / NR)·6·NR + r·NR + k % NR]} — the layout a 6 × NR tile takes
     * when a kernel stores it with {@code ldo = NR}, so one GEMM's output tiles can be the next GEMM's A without a
     * copy ({@link ReluAttention}). The last K block may be partial. With {@code relu} negative sums are stored as 0.
     * Four k-steps per loop iteration: 0.81–0.82 → 0.90 of the GEMM rate for ReLU attention at 256 × 256 tokens.
     * <p>One index into A instead of {@link #rowsTimesPanel}'s six row offsets: with seven integers live in that loop
     * besides the counters, its register allocation depends on what else the JIT profiled. A probe that ran K = 64
     * GEMMs before K = 256 ones got a loop that carried A's base through an XMM register (a {@code vmovq} round trip
     * every step) and ran the K = 256 GEMM at 131 instead of 172 GFLOP/s (one thread, AVX-512 host, 2026-12-06);
     * ReLU attention's two passes (K = 64 and K = Nk) through that kernel were that mix.
     */
    static void blockedRowsTimesPanel(float[] a, int aOff, MemorySegment b, long bOff, int kc, float[] out, int o, int ldo, boolean relu) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        long bo = bOff;
        final long step = (long) NR * Float.BYTES, half = (long) L * Float.BYTES;
        for (int k0 = 0, block = aOff; k0 < kc; k0 += NR, block += 6 * NR) {
            int tn = Math.min(NR, kc - k0), t = 0, ao = block;
            for (; t + 3 < tn; t += 4, ao += 4, bo += 4 * step) {   // 4 steps per iteration
                FloatVector b0 = FloatVector.fromMemorySegment(S, b, bo, NATIVE);
                FloatVector b1 = FloatVector.fromMemorySegment(S, b, bo + half, NATIVE);
                FloatVector v = FloatVector.broadcast(S, a[ao]);
                c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(S, a[ao + NR]);
                c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(S, a[ao + 2 * NR]);
                c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(S, a[ao + 3 * NR]);
                c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
                v = FloatVector.broadcast(S, a[ao + 4 * NR]);
                c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
                v = FloatVector.broadcast(S, a[ao + 5 * NR]);
                c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
                b0 = FloatVector.fromMemorySegment(S, b, bo + step, NATIVE);
                b1 = FloatVector.fromMemorySegment(S, b, bo + step + half, NATIVE);
                v = FloatVector.broadcast(S, a[ao + 1]);
                c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(S, a[ao + 1 + NR]);
                c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(S, a[ao + 1 + 2 * NR]);
                c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(S, a[ao + 1 + 3 * NR]);
                c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
                v = FloatVector.broadcast(S, a[ao + 1 + 4 * NR]);
                c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
                v = FloatVector.broadcast(S, a[ao + 1 + 5 * NR]);
                c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
                b0 = FloatVector.fromMemorySegment(S, b, bo + 2 * step, NATIVE);
                b1 = FloatVector.fromMemorySegment(S, b, bo + 2 * step + half, NATIVE);
                v = FloatVector.broadcast(S, a[ao + 2]);
                c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(S, a[ao + 2 + NR]);
                c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(S, a[ao + 2 + 2 * NR]);
                c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(S, a[ao + 2 + 3 * NR]);
                c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
                v = FloatVector.broadcast(S, a[ao + 2 + 4 * NR]);
                c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
                v = FloatVector.broadcast(S, a[ao + 2 + 5 * NR]);
                c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
                b0 = FloatVector.fromMemorySegment(S, b, bo + 3 * step, NATIVE);
                b1 = FloatVector.fromMemorySegment(S, b, bo + 3 * step + half, NATIVE);
                v = FloatVector.broadcast(S, a[ao + 3]);
                c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(S, a[ao + 3 + NR]);
                c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(S, a[ao + 3 + 2 * NR]);
                c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(S, a[ao + 3 + 3 * NR]);
                c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
                v = FloatVector.broadcast(S, a[ao + 3 + 4 * NR]);
                c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
                v = FloatVector.broadcast(S, a[ao + 3 + 5 * NR]);
                c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            }
            for (; t < tn; t++, ao++, bo += step) {
                FloatVector b0 = FloatVector.fromMemorySegment(S, b, bo, NATIVE);
                FloatVector b1 = FloatVector.fromMemorySegment(S, b, bo + half, NATIVE);
                FloatVector v = FloatVector.broadcast(S, a[ao]);
                c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
                v = FloatVector.broadcast(S, a[ao + NR]);
                c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
                v = FloatVector.broadcast(S, a[ao + 2 * NR]);
                c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
                v = FloatVector.broadcast(S, a[ao + 3 * NR]);
                c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
                v = FloatVector.broadcast(S, a[ao + 4 * NR]);
                c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
                v = FloatVector.broadcast(S, a[ao + 5 * NR]);
                c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            }
        }
        if (relu) {   // x < 0 → 0 (a compare and a masked move; max(x, 0) compiles to four instructions for its NaN rules)
            FloatVector z = FloatVector.zero(S);
            c00 = c00.blend(z, c00.lt(0f)); c01 = c01.blend(z, c01.lt(0f));
            c10 = c10.blend(z, c10.lt(0f)); c11 = c11.blend(z, c11.lt(0f));
            c20 = c20.blend(z, c20.lt(0f)); c21 = c21.blend(z, c21.lt(0f));
            c30 = c30.blend(z, c30.lt(0f)); c31 = c31.blend(z, c31.lt(0f));
            c40 = c40.blend(z, c40.lt(0f)); c41 = c41.blend(z, c41.lt(0f));
            c50 = c50.blend(z, c50.lt(0f)); c51 = c51.blend(z, c51.lt(0f));
        }
        c00.intoArray(out, o); c01.intoArray(out, o + L);
        c10.intoArray(out, o + ldo); c11.intoArray(out, o + ldo + L);
        c20.intoArray(out, o + 2 * ldo); c21.intoArray(out, o + 2 * ldo + L);
        c30.intoArray(out, o + 3 * ldo); c31.intoArray(out, o + 3 * ldo + L);
        c40.intoArray(out, o + 4 * ldo); c41.intoArray(out, o + 4 * ldo + L);
        c50.intoArray(out, o + 5 * ldo); c51.intoArray(out, o + 5 * ldo + L);
    }

    /**
     * {@link #blockedRowsTimesPanel} for the first vector of the panel only (its second holds nothing but padding, as
     * in the last key panel of an attention over 77 text tokens).
     */
    static void blockedRowsTimesHalfPanel(float[] a, int aOff, MemorySegment b, long bOff, int kc, float[] out, int o, int ldo, boolean relu) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S), c4 = FloatVector.zero(S), c5 = FloatVector.zero(S);
        long bo = bOff;
        final long step = (long) NR * Float.BYTES;
        for (int k0 = 0, block = aOff; k0 < kc; k0 += NR, block += 6 * NR) {
            for (int t = 0, ao = block, tn = Math.min(NR, kc - k0); t < tn; t++, ao++, bo += step) {
                FloatVector b0 = FloatVector.fromMemorySegment(S, b, bo, NATIVE);
                c0 = FloatVector.broadcast(S, a[ao]).fma(b0, c0);
                c1 = FloatVector.broadcast(S, a[ao + NR]).fma(b0, c1);
                c2 = FloatVector.broadcast(S, a[ao + 2 * NR]).fma(b0, c2);
                c3 = FloatVector.broadcast(S, a[ao + 3 * NR]).fma(b0, c3);
                c4 = FloatVector.broadcast(S, a[ao + 4 * NR]).fma(b0, c4);
                c5 = FloatVector.broadcast(S, a[ao + 5 * NR]).fma(b0, c5);
            }
        }
        if (relu) {
            FloatVector z = FloatVector.zero(S);
            c0 = c0.blend(z, c0.lt(0f)); c1 = c1.blend(z, c1.lt(0f)); c2 = c2.blend(z, c2.lt(0f));
            c3 = c3.blend(z, c3.lt(0f)); c4 = c4.blend(z, c4.lt(0f)); c5 = c5.blend(z, c5.lt(0f));
        }
        c0.intoArray(out, o); c1.intoArray(out, o + ldo); c2.intoArray(out, o + 2 * ldo);
        c3.intoArray(out, o + 3 * ldo); c4.intoArray(out, o + 4 * ldo); c5.intoArray(out, o + 5 * ldo);
    }

    /**
     * Length of the index map of {@link #packRows}: L/4 steps of k × {@link #MRA} rows, that is MRA/4 vectors (one
     * gather each).
     */
    static final int PACK_MAP = MRA / 4 * L;
    /**
     * Whether {@link #packRows} gathers: with 256- and 512-bit vectors (AVX2 and AVX-512 have gather instructions);
     * 128-bit variants (SSE, NEON) copy element by element.
     */
    private static final boolean PACK_GATHER = L >= 8;

    /**
     * Fills {@code map} for {@link #packRows}: packed element e (k = e / MRA, row r = e % MRA) of a group of L/4 steps
     * of k comes from {@code r·lda + k}, rows past {@code mr} repeating row mr−1 (their sums are never stored).
     */
    static void packMap(int lda, int mr, int[] map) {
        for (int e = 0; e < PACK_MAP; e++) map[e] = Math.min(e % MRA, mr - 1) * lda + e / MRA;
    }

    /**
     * Rows [0, mr) of A from {@code a[rowOff + r·lda + k]}, k < kc, to the packed panel of
     * {@link #packed12RowsTimesPanel} / {@link #packed4RowsTimesPanel}, {@code dst[d + k·MRA + r]}, with {@code map}
     * from {@link #packMap}(lda, mr): MRA/4 gathers and as many contiguous stores per L/4 steps of k. The transposing
     * copy element by element (one store each, stride MRA) took a third of a 4096 × 320 × 2880 GEMM's samples with 12
     * rows, making that GEMM slower than the 6-row in-place one (105 against 125 GFLOP/s, one thread, AVX-512,
     * 2026-12-06), and a quarter with 4 rows under emulated AVX2; gathered, the 12-row GEMM ran at 150.
     */
    static void packRows(float[] a, int rowOff, int[] map, int kc, float[] dst, int d) {
        int k = 0, o = d;
        if (PACK_GATHER) {
            for (final int steps = L / 4; k + steps <= kc; k += steps) {
                for (int v = 0; v < MRA / 4; v++, o += L) FloatVector.fromArray(S, a, rowOff + k, map, v * L).intoArray(dst, o);
            }
        }
        for (; k < kc; k++) {
            for (int r = 0; r < MRA; r++, o++) dst[o] = a[rowOff + k + map[r]];
        }
    }

    /**
     * acc[r, j] = Σ_k A[r, k]·B[k, j] with A a packed panel at {@code a[aOff]} (MR floats per k, rows past the matrix
     * zero) and B a packed tile at {@code b[bOff]} (NR floats per k, columns past the matrix zero). Both operands are
     * heap arrays: with A read from off-heap memory instead, this loop measured 20–35% slower and varied from run to
     * run (JMH-style micro-benchmark, 2026-11-22), so callers copy each weight micro-panel to the heap first.
     */
    static void panelTimesTile(float[] a, int aOff, float[] b, int bOff, int kc, float[] out, int o, int ldo) {
        if (MR == 6 && KernelVariant.REGISTERS >= 32) panelTimesTile6(a, aOff, b, bOff, kc, out, o, ldo);
        else if (MR == 6) panelTimesTile6x2(a, aOff, b, bOff, kc, out, o, ldo);
        else panelTimesTile4(a, aOff, b, bOff, kc, out, o, ldo);
    }

    /**
     * {@link #panelTimesTile} for two 6-row panels at once (12 rows, 24 accumulators; 32 registers only): A rows 0–5
     * from {@code a[a0 + k·6 + r]}, rows 6–11 from {@code a[a1 + k·6 + r]}; the 12 rows of sums go to
     * {@code out[o + r·ldo + j]}. Twice the FMAs per step of {@link #panelTimesTile6} for the same two loads of B.
     */
    static void twoPanelsTimesTile(float[] a, int a0, int a1, float[] b, int bOff, int kc, float[] out, int o, int ldo) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S), c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        FloatVector c80 = FloatVector.zero(S), c81 = FloatVector.zero(S), c90 = FloatVector.zero(S), c91 = FloatVector.zero(S);
        FloatVector ca0 = FloatVector.zero(S), ca1 = FloatVector.zero(S), cb0 = FloatVector.zero(S), cb1 = FloatVector.zero(S);
        for (int k = 0, ao = a0, ap = a1, bo = bOff; k < kc; k++, ao += 6, ap += 6, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector v = FloatVector.broadcast(S, a[ao]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ao + 1]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ao + 2]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ao + 3]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ao + 4]);
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ao + 5]);
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
            v = FloatVector.broadcast(S, a[ap]);
            c60 = v.fma(b0, c60); c61 = v.fma(b1, c61);
            v = FloatVector.broadcast(S, a[ap + 1]);
            c70 = v.fma(b0, c70); c71 = v.fma(b1, c71);
            v = FloatVector.broadcast(S, a[ap + 2]);
            c80 = v.fma(b0, c80); c81 = v.fma(b1, c81);
            v = FloatVector.broadcast(S, a[ap + 3]);
            c90 = v.fma(b0, c90); c91 = v.fma(b1, c91);
            v = FloatVector.broadcast(S, a[ap + 4]);
            ca0 = v.fma(b0, ca0); ca1 = v.fma(b1, ca1);
            v = FloatVector.broadcast(S, a[ap + 5]);
            cb0 = v.fma(b0, cb0); cb1 = v.fma(b1, cb1);
        }
        c00.intoArray(out, o); c01.intoArray(out, o + L);
        c10.intoArray(out, o + ldo); c11.intoArray(out, o + ldo + L);
        c20.intoArray(out, o + 2 * ldo); c21.intoArray(out, o + 2 * ldo + L);
        c30.intoArray(out, o + 3 * ldo); c31.intoArray(out, o + 3 * ldo + L);
        c40.intoArray(out, o + 4 * ldo); c41.intoArray(out, o + 4 * ldo + L);
        c50.intoArray(out, o + 5 * ldo); c51.intoArray(out, o + 5 * ldo + L);
        c60.intoArray(out, o + 6 * ldo); c61.intoArray(out, o + 6 * ldo + L);
        c70.intoArray(out, o + 7 * ldo); c71.intoArray(out, o + 7 * ldo + L);
        c80.intoArray(out, o + 8 * ldo); c81.intoArray(out, o + 8 * ldo + L);
        c90.intoArray(out, o + 9 * ldo); c91.intoArray(out, o + 9 * ldo + L);
        ca0.intoArray(out, o + 10 * ldo); ca1.intoArray(out, o + 10 * ldo + L);
        cb0.intoArray(out, o + 11 * ldo); cb1.intoArray(out, o + 11 * ldo + L);
    }

    /** {@link #panelTimesTile} for 4-row tiles. */
    private static void panelTimesTile4(float[] a, int aOff, float[] b, int bOff, int kc, float[] out, int o, int ldo) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        for (int k = 0, ao = aOff, bo = bOff; k < kc; k++, ao += 4, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector v = FloatVector.broadcast(S, a[ao]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ao + 1]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ao + 2]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ao + 3]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
        }
        c00.intoArray(out, o); c01.intoArray(out, o + L);
        c10.intoArray(out, o + ldo); c11.intoArray(out, o + ldo + L);
        c20.intoArray(out, o + 2 * ldo); c21.intoArray(out, o + 2 * ldo + L);
        c30.intoArray(out, o + 3 * ldo); c31.intoArray(out, o + 3 * ldo + L);
    }

    /** {@link #panelTimesTile} for 6-row tiles. */
    private static void panelTimesTile6(float[] a, int aOff, float[] b, int bOff, int kc, float[] out, int o, int ldo) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int k = 0, ao = aOff, bo = bOff; k < kc; k++, ao += MR, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector v = FloatVector.broadcast(S, a[ao]);
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[ao + 1]);
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[ao + 2]);
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[ao + 3]);
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[ao + 4]);
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[ao + 5]);
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
        }
        c00.intoArray(out, o); c01.intoArray(out, o + L);
        c10.intoArray(out, o + ldo); c11.intoArray(out, o + ldo + L);
        c20.intoArray(out, o + 2 * ldo); c21.intoArray(out, o + 2 * ldo + L);
        c30.intoArray(out, o + 3 * ldo); c31.intoArray(out, o + 3 * ldo + L);
        c40.intoArray(out, o + 4 * ldo); c41.intoArray(out, o + 4 * ldo + L);
        c50.intoArray(out, o + 5 * ldo); c51.intoArray(out, o + 5 * ldo + L);
    }

    /**
     * Moves finished sums into C: {@code mr} rows and {@code nr} columns from {@code src[so + r·lds + j]} to
     * {@code c[cOff + r·ldc + j]}, adding to C unless {@code first}. The epilogue is not applied here (a tile's last
     * slice goes through {@link GemmEpilogue#storeTile}, which does both): passing vectors from this method into the
     * epilogue left them boxed on the heap whenever the JIT declined to inline it (~1.5 GB per BK-SDM-Tiny forward).
     * Kept out of the kernels too: a kernel whose loop shares a method with this code is compiled 2–3× slower.
     */
    static void storeTile(float[] src, int so, int lds, float[] c, int cOff, int ldc, int mr, int nr, boolean first) {
        for (int r = 0; r < mr; r++) {
            int off = cOff + r * ldc, s = so + r * lds;
            if (nr == NR) {
                FloatVector v0 = FloatVector.fromArray(S, src, s);
                FloatVector v1 = FloatVector.fromArray(S, src, s + L);
                if (!first) {
                    v0 = v0.add(FloatVector.fromArray(S, c, off));
                    v1 = v1.add(FloatVector.fromArray(S, c, off + L));
                }
                v0.intoArray(c, off);
                v1.intoArray(c, off + L);
            } else {
                for (int v = 0; v * L < nr; v++) {
                    VectorMask<Float> m = mask(v, nr);
                    FloatVector x = FloatVector.fromArray(S, src, s + v * L, m);
                    if (!first) x = x.add(FloatVector.fromArray(S, c, off + v * L, m));
                    x.intoArray(c, off + v * L, m);
                }
            }
        }
    }
}
