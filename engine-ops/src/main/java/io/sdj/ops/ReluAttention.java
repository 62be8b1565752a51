package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static io.sdj.ops.GemmKernel.NR;
import static io.sdj.ops.PackedMatrix.ceilDiv;

/**
 * ReLU attention (Wortsman et al. 2023; MobileDiffusion) as two plain GEMMs per (batch, head, query block), no
 * exponentials and no running statistics: with s the score scale and Nk the number of keys,
 * <pre>
 *   S = relu(Q_h · (K_h · s/Nk)ᵀ)      Gemm.multiply, the ReLU in its epilogue (relu(x·c) = relu(x)·c, c &gt; 0)
 *   O_h = S · V_h                       Gemm.multiply, written straight into the head's output columns
 * </pre>
 * Q and the output are read/written in place (head h = columns h·d … h·d+d−1, the leading dimension the full width);
 * K_hᵀ (scaled) and V_h are packed into per-thread column panels, once per run of query blocks of the same head. The
 * score block holds {@link #blockRows} query rows × Nk keys (about 1 MiB) so it stays in L2 between the two GEMMs.
 * <p>Threads: when the (batch, head, query block) items split evenly over the threads (or there are many), each
 * thread takes a contiguous run of whole items and runs their small GEMMs on its own (one fork-join per call instead
 * of two per item, and the packing runs in parallel too); otherwise the items run one after another and each GEMM
 * uses every thread.
 * Either way every output element is computed by the same GEMM arithmetic ({@link Gemm}), so the result is
 * bit-identical for 1 and N threads.
 */
public final class ReluAttention {
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(NATIVE);
    /** Target floats of one score block (query rows × keys). */
    private static final int BLOCK_FLOATS = 256 * 1024;
    /** Per thread: K_hᵀ and V_h packing storage (off-heap, grown on demand) and the score block (heap). */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private ReluAttention() {}

    /** Query rows per score block for {@code tk} keys: a multiple of 6 (the GEMM's row tile), at least 6. */
    static int blockRows(int tq, int tk) {
        int rows = Math.max(GemmKernel.MR, BLOCK_FLOATS / Math.max(1, tk) / GemmKernel.MR * GemmKernel.MR);
        return Math.min(rows, ceilDiv(tq, GemmKernel.MR) * GemmKernel.MR);
    }

    /**
     * (relu(Q·Kᵀ·s) / Tk)·V per head: q [B, Tq, H·d], k [B, Tk, H·d], v [B, Tk, H·dv] → [B, Tq, H·dv]
     * (k and v may be the same tensor).
     */
    public static Tensor forward(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, float scale) {
        q.requireRank("relu attention q", 3);
        k.requireRank("relu attention k", 3);
        v.requireRank("relu attention v", 3);
        int b = q.dim(0), tq = q.dim(1), tk = k.dim(1);
        if (k.dim(0) != b || v.dim(0) != b || v.dim(1) != tk || heads < 1 || q.dim(2) % heads != 0
                || v.dim(2) % heads != 0 || k.dim(2) != q.dim(2) || tk == 0 || q.dim(2) == 0) {
            throw new IllegalArgumentException("relu attention: " + heads + " heads do not fit q " + q + ", k " + k + ", v " + v);
        }
        if (!(scale > 0)) throw new IllegalArgumentException("relu attention: scale must be positive, got " + scale);
        int cq = q.dim(2), cv = v.dim(2), d = cq / heads, dv = cv / heads;
        Tensor out = ws.take(b, tq, cv);
        if (b == 0 || tq == 0 || dv == 0) return out;
        float[] qd = q.data(), kd = k.data(), vd = v.data(), od = out.data();
        float factor = scale / tk;
        int rows = blockRows(tq, tk), blocks = ceilDiv(tq, rows), items = b * heads * blocks;
        Parallel.RangeBody run = (from, to) -> {
            Scratch sc = SCRATCH.get();
            PackedMatrix kt = sc.keys(d, tk), vh = sc.values(tk, dv);   // (K_h · s/Nk)ᵀ: d × Nk; V_h: Nk × dv
            float[] scores = sc.scores(rows * tk);
            int packed = -1;
            for (int item = from; item < to; item++) {
                int unit = item / blocks, bb = unit / heads, h = unit % heads, i0 = (item % blocks) * rows;
                if (unit != packed) {
                    packKeysTransposed(kd, (long) bb * tk * cq + (long) h * d, cq, tk, d, factor, kt.segment(), sc.keyRows(cq));
                    packValues(vd, (long) bb * tk * cv + (long) h * dv, cv, tk, dv, vh.segment());
                    packed = unit;
                }
                int m = Math.min(rows, tq - i0);
                int qOff = (bb * tq + i0) * cq + h * d, oOff = (bb * tq + i0) * cv + h * dv;
                Gemm.multiply(qd, qOff, cq, m, kt, scores, 0, tk, null, Activation.RELU, null);
                Gemm.multiply(scores, 0, tk, m, vh, od, oOff, cv, null, Activation.NONE, null);
            }
        };
        // items that split evenly (or many of them): whole items per thread (their GEMMs then run on that thread
        // alone, see Parallel); else the items in turn, each GEMM spread over the threads
        int threads = Parallel.threads();
        if (threads > 1 && (items % threads == 0 || items >= 4 * threads)) Parallel.forRange(items, run);
        else run.run(0, items);
        return out;
    }

    /** One thread's reusable buffers. */
    private static final class Scratch {
        private MemorySegment keys = MemorySegment.NULL, values = MemorySegment.NULL;
        private float[] scores = new float[0];
        private int[] keyRows = new int[0];
        private int keyRowsLd;

        PackedMatrix keys(int k, int n) {
            keys = atLeast(keys, PackedMatrix.floats(PackedMatrix.Layout.COLUMN_PANELS, k, n));
            return PackedMatrix.columnPanels(keys, k, n);
        }

        PackedMatrix values(int k, int n) {
            values = atLeast(values, PackedMatrix.floats(PackedMatrix.Layout.COLUMN_PANELS, k, n));
            return PackedMatrix.columnPanels(values, k, n);
        }

        /** Gather offsets of L consecutive keys: key t at t·ld. */
        int[] keyRows(int ld) {
            if (keyRows.length == 0 || keyRowsLd != ld) {
                keyRows = new int[GemmKernel.L];
                for (int t = 0; t < keyRows.length; t++) keyRows[t] = t * ld;
                keyRowsLd = ld;
            }
            return keyRows;
        }

        float[] scores(int n) { return scores.length >= n ? scores : (scores = new float[n]); }

        private static MemorySegment atLeast(MemorySegment s, long floats) {
            return s.byteSize() >= floats * Float.BYTES ? s : Arena.ofAuto().allocate(floats * Float.BYTES, 64);
        }
    }

    /**
     * Panels of B = (K_h·f)ᵀ [d, Nk] written straight into {@code dst} (column panels): element (c, key) =
     * k[base + key·ld + c]·f, lanes past Nk 0. Whole vectors of L keys are gathered ({@code rows}: offsets t·ld), one
     * per channel, instead of a scalar transpose through a heap staging copy.
     */
    private static void packKeysTransposed(float[] k, long base, int ld, int tk, int d, float f, MemorySegment dst, int[] rows) {
        int L = GemmKernel.L, panels = ceilDiv(tk, NR);
        for (int p = 0; p < panels; p++) {
            for (int v = 0; v < NR / L; v++) {
                int key0 = p * NR + v * L, keys = Math.min(L, tk - key0);
                long o = ((long) p * d * NR + v * L) * Float.BYTES;
                if (keys == L) {
                    int src = (int) (base + (long) key0 * ld);
                    for (int c = 0; c < d; c++, o += NR * Float.BYTES) {
                        FloatVector.fromArray(GemmKernel.S, k, src + c, rows, 0).mul(f).intoMemorySegment(dst, o, NATIVE);
                    }
                } else {
                    for (int c = 0; c < d; c++, o += NR * Float.BYTES) {
                        for (int t = 0; t < L; t++) {
                            float x = t < keys ? k[(int) (base + (long) (key0 + t) * ld) + c] * f : 0f;
                            dst.set(F, o + (long) t * Float.BYTES, x);
                        }
                    }
                }
            }
        }
    }

    /**
     * Panels of B = V_h [Nk, dv] written straight into {@code dst} (column panels), like the keys: element (key, c) =
     * v[base + key·ld + c], lanes past dv 0 (a masked load reads them as 0).
     */
    private static void packValues(float[] v, long base, int ld, int tk, int dv, MemorySegment dst) {
        int L = GemmKernel.L, panels = ceilDiv(dv, NR);
        for (int p = 0; p < panels; p++) {
            int c0 = p * NR, w = Math.min(NR, dv - c0);
            for (int key = 0; key < tk; key++) {
                int src = (int) (base + (long) key * ld) + c0;
                long o = (long) (p * tk + key) * NR * Float.BYTES;
                for (int h = 0; h < NR; h += L, o += (long) L * Float.BYTES) {
                    FloatVector x = w == NR ? FloatVector.fromArray(GemmKernel.S, v, src + h)
                            : FloatVector.fromArray(GemmKernel.S, v, src + h, GemmKernel.S.indexInRange(h, w));
                    x.intoMemorySegment(dst, o, NATIVE);
                }
            }
        }
    }
}
