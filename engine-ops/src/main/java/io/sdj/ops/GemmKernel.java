package io.sdj.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The register-blocked GEMM micro-kernels: an {@link #MR}×{@link #NR} tile of C (6 rows × two vectors) kept in
 * twelve accumulators over a K slice, fp32 fused multiply-add.
 * <p>The vector species is chosen once per JVM: {@code -Dsdj.gemm.vectorBits=128|256|512}, default the preferred
 * species. It is a {@code static final} constant so that the JIT compiles the kernels to plain SIMD; every kernel is
 * written for any lane count, and the tests run the 128- and 256-bit paths in child JVMs.
 * <p>Two operand arrangements:
 * <ul>
 * <li>{@link #rowsTimesPanel}: A read in place (six row-major rows, broadcast one element at a time), B a pre-packed
 *     off-heap panel {@code [k][NR]} (token-major {@link Linear}: weights are the vector operand);</li>
 * <li>{@link #panelTimesTile}: A a pre-packed off-heap panel {@code [k][MR]} (broadcast), B a per-call packed
 *     on-heap tile {@code [k][NR]} (NCHW {@link Conv2d}: weights broadcast, pixels are the vector operand).</li>
 * </ul>
 * Results are written with the {@link GemmEpilogue}: the first K slice stores, later slices add to C, and the last
 * slice applies bias, activation and residual. The order of operations depends only on the tile's position, never on
 * the thread that runs it, so results are bit-identical for any thread count.
 */
final class GemmKernel {
    static final VectorSpecies<Float> S = chooseSpecies();
    /** Lanes per vector. */
    static final int L = S.length();
    /** Rows of the register tile. */
    static final int MR = 6;
    /** Columns of the register tile: two vectors. */
    static final int NR = 2 * L;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private GemmKernel() {}

    private static VectorSpecies<Float> chooseSpecies() {
        String p = System.getProperty("sdj.gemm.vectorBits");
        if (p == null || p.isBlank()) return FloatVector.SPECIES_PREFERRED;
        return switch (p.trim()) {
            case "128" -> FloatVector.SPECIES_128;
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("-Dsdj.gemm.vectorBits must be 128, 256 or 512, got '" + p + "'");
        };
    }

    /** Mask of the first {@code n} lanes of vector {@code v} (0 or 1) of a tile row with {@code n} valid columns. */
    static VectorMask<Float> mask(int v, int n) {
        return S.indexInRange(v * L, n);
    }

    /**
     * C[r, j] (+)= Σ_k A[r, k]·B[k, j] for a tile of {@code mr} ≤ 6 rows and {@code nr} ≤ NR columns.
     * A rows start at {@code a[aRow[0..5] + k]} (rows past {@code mr} may repeat a valid row; they are not stored);
     * B is the packed panel at byte offset {@code bOff}, NR floats per k.
     */
    static void rowsTimesPanel(float[] a, int a0, int a1, int a2, int a3, int a4, int a5,
                               MemorySegment b, long bOff, int kc,
                               float[] c, int cOff, int ldc, int mr, int nr,
                               boolean first, boolean last, GemmEpilogue e, int row, int col) {
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
        store(c00, c01, c, cOff, nr, first, last, e, row, col);
        if (mr > 1) store(c10, c11, c, cOff + ldc, nr, first, last, e, row + 1, col);
        if (mr > 2) store(c20, c21, c, cOff + 2 * ldc, nr, first, last, e, row + 2, col);
        if (mr > 3) store(c30, c31, c, cOff + 3 * ldc, nr, first, last, e, row + 3, col);
        if (mr > 4) store(c40, c41, c, cOff + 4 * ldc, nr, first, last, e, row + 4, col);
        if (mr > 5) store(c50, c51, c, cOff + 5 * ldc, nr, first, last, e, row + 5, col);
    }

    /**
     * C[r, j] (+)= Σ_k A[r, k]·B[k, j] with A the packed panel at byte offset {@code aOff} (MR floats per k, rows past
     * the matrix zero) and B the packed tile at {@code b[bOff]} (NR floats per k, columns past the matrix zero).
     */
    static void panelTimesTile(MemorySegment a, long aOff, float[] b, int bOff, int kc,
                               float[] c, int cOff, int ldc, int mr, int nr,
                               boolean first, boolean last, GemmEpilogue e, int row, int col) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        long ao = aOff;
        int bo = bOff;
        for (int k = 0; k < kc; k++, ao += MR * Float.BYTES, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + L);
            FloatVector v = FloatVector.broadcast(S, a.get(F, ao));
            c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a.get(F, ao + 4));
            c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a.get(F, ao + 8));
            c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a.get(F, ao + 12));
            c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a.get(F, ao + 16));
            c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a.get(F, ao + 20));
            c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
        }
        store(c00, c01, c, cOff, nr, first, last, e, row, col);
        if (mr > 1) store(c10, c11, c, cOff + ldc, nr, first, last, e, row + 1, col);
        if (mr > 2) store(c20, c21, c, cOff + 2 * ldc, nr, first, last, e, row + 2, col);
        if (mr > 3) store(c30, c31, c, cOff + 3 * ldc, nr, first, last, e, row + 3, col);
        if (mr > 4) store(c40, c41, c, cOff + 4 * ldc, nr, first, last, e, row + 4, col);
        if (mr > 5) store(c50, c51, c, cOff + 5 * ldc, nr, first, last, e, row + 5, col);
    }

    /** Writes one tile row (two vectors, {@code nr} valid columns) at {@code c[off]}. */
    private static void store(FloatVector v0, FloatVector v1, float[] c, int off, int nr,
                              boolean first, boolean last, GemmEpilogue e, int row, int col) {
        if (nr == NR) {
            if (!first) {
                v0 = v0.add(FloatVector.fromArray(S, c, off));
                v1 = v1.add(FloatVector.fromArray(S, c, off + L));
            }
            if (last && e != null) {
                v0 = e.apply(v0, row, col, c, off, null);
                v1 = e.apply(v1, row, col + L, c, off + L, null);
            }
            v0.intoArray(c, off);
            v1.intoArray(c, off + L);
        } else {
            VectorMask<Float> m0 = mask(0, nr);
            if (!first) v0 = v0.add(FloatVector.fromArray(S, c, off, m0));
            if (last && e != null) v0 = e.apply(v0, row, col, c, off, m0);
            v0.intoArray(c, off, m0);
            if (nr > L) {
                VectorMask<Float> m1 = mask(1, nr);
                if (!first) v1 = v1.add(FloatVector.fromArray(S, c, off + L, m1));
                if (last && e != null) v1 = e.apply(v1, row, col + L, c, off + L, m1);
                v1.intoArray(c, off + L, m1);
            }
        }
    }
}
