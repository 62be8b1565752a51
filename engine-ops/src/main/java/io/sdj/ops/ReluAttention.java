package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static io.sdj.ops.GemmKernel.MR;
import static io.sdj.ops.GemmKernel.NR;
import static io.sdj.ops.PackedMatrix.ceilDiv;

/**
 * ReLU attention (Wortsman et al. 2023; MobileDiffusion) as two GEMMs per (batch, head, block of query rows), no
 * exponentials and no running statistics: with s the score scale and Nk the number of keys,
 * <pre>
 *   S = relu(Q_h · (K_h · s/Nk)ᵀ)      the ReLU as the tiles are stored (relu(x·c) = relu(x)·c, c &gt; 0)
 *   O_h = S · V_h                       written straight into the head's output columns
 * </pre>
 * Where the kernel variant has 32 vector registers ({@link #ROW_BLOCKS}) both run on
 * {@link GemmKernel#blockedRowsTimesPanel}: the first stores its 6 × NR score tiles in exactly the row-block layout the
 * second reads as A, so the scores are never copied or transposed, and each kernel loop indexes A with one counter (see
 * that method for why that matters). The query rows of a block are copied into the same layout (whole vectors). A
 * block is {@link #GROUPS} row groups: each key panel stays in L1 while they pass over it. Elsewhere both run through
 * {@link Gemm#multiply} on blocks of query rows. Either way K_hᵀ (scaled, gathered a vector of keys at a time) and V_h
 * are packed into per-thread column panels, once per run of blocks of the same head.
 * <p>Threads: the (batch, head, block) items are split into contiguous runs, one per thread (on the {@link Gemm} path
 * only when they split evenly or are many; else each GEMM uses every thread). Every output element is computed by
 * the same arithmetic whichever thread runs it, so the result is bit-identical for 1 and N threads.
 */
public final class ReluAttention {
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(NATIVE);
    /** Row groups (of MR queries) per work item of the row-block path: their scores are all computed before they are multiplied by V. */
    private static final int GROUPS = 8;
    /**
     * Whether this kernel variant runs the row-block path: 6-row tiles with 32 vector registers. With 16 (AVX2, SSE)
     * C2 kept four accumulators of the row-block loop on the stack ({@code -XX:UseAVX=2}, 2026-12-06: 0.56–0.70 of
     * the GEMM rate against 0.79 through {@link Gemm}), so those variants multiply through {@link Gemm} instead.
     */
    static final boolean ROW_BLOCKS = MR == 6 && KernelVariant.REGISTERS >= 32;
    /** Target floats of one score block of the {@link Gemm} path (query rows × keys). */
    private static final int SCORE_BLOCK_FLOATS = 256 * 1024;
    /** Per thread: K_hᵀ and V_h packing storage (off-heap), the block's queries and scores (heap). */
    private static final ThreadScratch.OffHeap KEYS = new ThreadScratch.OffHeap(), VALUES = new ThreadScratch.OffHeap();
    private static final ThreadScratch QUERIES = new ThreadScratch(), SCORES = new ThreadScratch();

    private ReluAttention() {}

    /** Query rows per work item for {@code tq} queries and {@code tk} keys: a multiple of MR. */
    static int blockRows(int tq, int tk) {
        if (ROW_BLOCKS) return GROUPS * MR;
        int rows = Math.max(MR, SCORE_BLOCK_FLOATS / Math.max(1, tk) / MR * MR);
        return Math.min(rows, ceilDiv(tq, MR) * MR);
    }

    /** The shapes of one call: batch, queries, keys, heads, head dims of Q/K and V, row widths, score factor. */
    private record Dims(int b, int tq, int tk, int heads, int d, int dv, int cq, int cv, float factor) {}

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
        int cq = q.dim(2), cv = v.dim(2);
        Tensor out = ws.take(b, tq, cv);
        if (b == 0 || tq == 0 || cv == 0) return out;
        Dims s = new Dims(b, tq, tk, heads, cq / heads, cv / heads, cq, cv, scale / tk);
        if (ROW_BLOCKS) rowBlocks(s, q.data(), k.data(), v.data(), out.data());
        else throughGemm(s, q.data(), k.data(), v.data(), out.data());
        return out;
    }

    /**
     * The row-block path: per block of {@link #GROUPS} row groups, S tile by tile on
     * {@link GemmKernel#blockedRowsTimesPanel} (stored in the layout the second pass reads as A), then S·V.
     */
    private static void rowBlocks(Dims s, float[] qd, float[] kd, float[] vd, float[] od) {
        int tq = s.tq, tk = s.tk, heads = s.heads, d = s.d, dv = s.dv, cq = s.cq, cv = s.cv;
        int rows = blockRows(tq, tk), blocks = ceilDiv(tq, rows), items = s.b * heads * blocks;
        int keyPanels = ceilDiv(tk, NR), tkPad = keyPanels * NR, valuePanels = ceilDiv(dv, NR), dPad = ceilDiv(d, NR) * NR;
        Parallel.forRange(items, (from, to) -> {
            float[] qb = QUERIES.atLeast(GROUPS * MR * dPad), scores = SCORES.atLeast(GROUPS * MR * tkPad), tile = new float[MR * NR];
            eachBlock(s, rows, kd, vd, from, to, (bb, h, i0, m, kt, vh) -> {
                int groups = ceilDiv(m, MR);
                for (int g = 0; g < groups; g++) {
                    int r = g * MR;
                    packQueries(qd, (bb * tq + i0 + r) * cq + h * d, cq, Math.min(MR, m - r), d, dPad, qb, g * MR * dPad);
                }
                // S = relu(Q · (K_h·f)ᵀ), key panel by key panel (each stays in L1 while the row groups pass over it),
                // every tile stored in the row-block layout that blockedRowsTimesPanel reads as A
                for (int p = 0; p < keyPanels; p++) {
                    long bOff = kt.columnPanelOffset(p, 0);
                    boolean half = tk - p * NR <= GemmKernel.L;   // the panel's second vector is all padding
                    for (int g = 0; g < groups; g++) {
                        int so = g * MR * tkPad + p * MR * NR;
                        if (half) GemmKernel.blockedRowsTimesHalfPanel(qb, g * MR * dPad, kt.segment(), bOff, d, scores, so, NR, true);
                        else GemmKernel.blockedRowsTimesPanel(qb, g * MR * dPad, kt.segment(), bOff, d, scores, so, NR, true);
                    }
                }
                // O = S · V_h over the real keys, value panel by value panel, straight into the head's output columns
                for (int p = 0; p < valuePanels; p++) {
                    long bOff = vh.columnPanelOffset(p, 0);
                    int nr = Math.min(NR, dv - p * NR);
                    for (int g = 0; g < groups; g++) {
                        int r = g * MR, mr = Math.min(MR, m - r), co = (bb * tq + i0 + r) * cv + h * dv + p * NR;
                        boolean direct = mr == MR && nr == NR;
                        GemmKernel.blockedRowsTimesPanel(scores, g * MR * tkPad, vh.segment(), bOff, tk,
                                direct ? od : tile, direct ? co : 0, direct ? cv : NR, false);
                        if (!direct) GemmKernel.storeTile(tile, 0, NR, od, co, cv, mr, nr, true);
                    }
                }
            });
        });
    }

    /**
     * The {@link Gemm} path: per block of query rows (about {@link #SCORE_BLOCK_FLOATS} scores, kept in L2 between
     * the two), S = relu(Q·(K_h·f)ᵀ) with the ReLU in the epilogue, then S·V_h into the head's output columns.
     */
    private static void throughGemm(Dims s, float[] qd, float[] kd, float[] vd, float[] od) {
        int tq = s.tq, tk = s.tk, heads = s.heads, d = s.d, dv = s.dv, cq = s.cq, cv = s.cv;
        int rows = blockRows(tq, tk), blocks = ceilDiv(tq, rows), items = s.b * heads * blocks;
        Parallel.RangeBody run = (from, to) -> {
            float[] scores = SCORES.atLeast(rows * tk);
            eachBlock(s, rows, kd, vd, from, to, (bb, h, i0, m, kt, vh) -> {
                int qOff = (bb * tq + i0) * cq + h * d, oOff = (bb * tq + i0) * cv + h * dv;
                Gemm.multiply(qd, qOff, cq, m, kt, scores, 0, tk, null, Activation.RELU, null);
                Gemm.multiply(scores, 0, tk, m, vh, od, oOff, cv, null, Activation.NONE, null);
            });
        };
        // items that split evenly (or many of them): whole items per thread (their GEMMs then run on that thread
        // alone, see Parallel); else the items in turn, each GEMM spread over the threads
        int threads = Parallel.threads();
        if (threads > 1 && (items % threads == 0 || items >= 4 * threads)) Parallel.forRange(items, run);
        else run.run(0, items);
    }

    /** One work item: query rows [i0, i0 + m) of head h of batch bb, with (K_h · s/Nk)ᵀ in kt and V_h in vh. */
    private interface Block {
        void run(int bb, int h, int i0, int m, PackedMatrix kt, PackedMatrix vh);
    }

    /**
     * Work items [from, to) ((batch, head, block of {@code rows} query rows), head-major) in turn on this thread, each
     * head's keys and values packed into this thread's panels once per run of its blocks.
     */
    private static void eachBlock(Dims s, int rows, float[] kd, float[] vd, int from, int to, Block block) {
        int blocks = ceilDiv(s.tq, rows);
        PackedMatrix kt = panels(KEYS, s.d, s.tk), vh = panels(VALUES, s.tk, s.dv);   // (K_h · s/Nk)ᵀ: d × Nk; V_h: Nk × dv
        int[] keyRows = keyRows(s.cq);
        int packed = -1;
        for (int item = from; item < to; item++) {
            int unit = item / blocks, bb = unit / s.heads, h = unit % s.heads, i0 = (item % blocks) * rows;
            if (unit != packed) {
                packHead(s, kd, vd, bb, h, kt, vh, keyRows);
                packed = unit;
            }
            block.run(bb, h, i0, Math.min(rows, s.tq - i0), kt, vh);
        }
    }

    /** (K_h · s/Nk)ᵀ into {@code kt} and V_h into {@code vh}, for batch {@code bb}, head {@code h}. */
    private static void packHead(Dims s, float[] kd, float[] vd, int bb, int h, PackedMatrix kt, PackedMatrix vh, int[] keyRows) {
        packKeysTransposed(kd, (long) bb * s.tk * s.cq + (long) h * s.d, s.cq, s.tk, s.d, s.factor, kt.segment(), keyRows);
        packValues(vd, (long) bb * s.tk * s.cv + (long) h * s.dv, s.cv, s.tk, s.dv, vh.segment());
    }

    /** A K × N column-panel matrix over this thread's {@code storage}, to be filled by the packing below. */
    private static PackedMatrix panels(ThreadScratch.OffHeap storage, int k, int n) {
        return PackedMatrix.columnPanels(storage.atLeast(PackedMatrix.floats(PackedMatrix.Layout.COLUMN_PANELS, k, n)), k, n);
    }

    /** Gather offsets of L consecutive keys: key t at t·ld. */
    private static int[] keyRows(int ld) {
        int[] rows = new int[GemmKernel.L];
        for (int t = 0; t < rows.length; t++) rows[t] = t * ld;
        return rows;
    }

    /**
     * Panels of B = (K_h·f)ᵀ [d, Nk] written straight into {@code dst} (column panels): element (c, key) =
     * k[base + key·ld + c]·f, lanes past Nk 0. Whole vectors of L keys are gathered ({@code rows}: offsets t·ld), one
     * per channel, instead of a scalar transpose through a heap staging copy.
     */
    private static void packKeysTransposed(float[] k, long base, int ld, int tk, int d, float f, MemorySegment dst, int[] keyRows) {
        int L = GemmKernel.L, panels = ceilDiv(tk, NR);
        for (int p = 0; p < panels; p++) {
            for (int v = 0; v < NR / L; v++) {
                int key0 = p * NR + v * L, keys = Math.min(L, tk - key0);
                long o = ((long) p * d * NR + v * L) * Float.BYTES;
                if (keys == L) {
                    int src = (int) (base + (long) key0 * ld);
                    for (int c = 0; c < d; c++, o += NR * Float.BYTES) {
                        FloatVector.fromArray(GemmKernel.S, k, src + c, keyRows, 0).mul(f).intoMemorySegment(dst, o, NATIVE);
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
     * Query rows [0, mr) from {@code q[off + r·ld + c]}, c < d, into {@code dst[o]} in the row-block layout of
     * {@link GemmKernel#blockedRowsTimesPanel} (per NR channels, MR rows of NR); rows past mr 0 (channels past d are
     * never read: the kernel stops at d).
     */
    private static void packQueries(float[] q, int off, int ld, int mr, int d, int dPad, float[] dst, int o) {
        int L = GemmKernel.L;
        for (int c0 = 0; c0 < dPad; c0 += NR) {
            for (int r = 0; r < MR; r++, o += NR) {
                int src = off + r * ld;
                if (r < mr && c0 + NR <= d) {
                    FloatVector.fromArray(GemmKernel.S, q, src + c0).intoArray(dst, o);
                    FloatVector.fromArray(GemmKernel.S, q, src + c0 + L).intoArray(dst, o + L);
                } else {
                    for (int c = 0; c < NR; c += L) {
                        VectorMask<Float> m = GemmKernel.S.indexInRange(c0 + c, r < mr ? d : 0);
                        FloatVector.fromArray(GemmKernel.S, q, src + c0 + c, m).intoArray(dst, o + c);
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
