package io.sdj.ops;

import io.sdj.core.Parallel;

import java.lang.foreign.MemorySegment;
import java.util.function.IntUnaryOperator;

import static io.sdj.ops.GemmKernel.MR;
import static io.sdj.ops.GemmKernel.MRA;
import static io.sdj.ops.GemmKernel.NR;
import static io.sdj.ops.PackedMatrix.ceilDiv;

/**
 * Single-precision matrix multiply with fp32 accumulation and a fused epilogue, {@code C = act(A·B + bias) + residual},
 * over the register-blocked {@link GemmKernel}s.
 * <p>Blocking: K in slices of about {@link #KC} or {@link #KC_PACKED}, rows in blocks of
 * {@link #rowBlock} (a block's A slice stays in L2), output tiles spread over {@link Parallel} threads. K is never split across
 * threads and every tile is computed the same way whoever computes it, so any thread count gives identical bits.
 * <ul>
 * <li>{@link #multiply}: A read in place (row-major activations), B a {@link PackedMatrix} of column panels (weights).</li>
 * <li>{@link #multiplyPacked}: A a {@link PackedMatrix} of row panels (weights), B produced tile by tile by a
 *     {@link TileSource} (e.g. convolution patches gathered straight from an image).</li>
 * </ul>
 */
public final class Gemm {
    /**
     * Target K slice of {@link #multiply}, per {@link KernelVariant}. With 32 registers: 512, measured 1–21% faster than
     * 384 at the large-K shapes (JMH, 2026-11-22: e.g. 2048³ on one thread 84.6 → 100.8 GFLOP/s); with 16: the B
     * micro-panel fills half the L1 data cache.
     */
    static final int KC = KernelVariant.KC;
    /** Target K slice of {@link #multiplyPacked} (convolutions): with 32 registers 384 (512 was slower there on 3 of 4 UNet shapes at 2 threads). */
    static final int KC_PACKED = KernelVariant.KC_PACKED;
    /** Budget of one row block's A slice (rows × K slice floats) in {@link #multiply}: half the L2 cache. */
    static final long A_BLOCK_BYTES = KernelVariant.L2 / 2;
    /**
     * Up to this many rows (A), {@link #multiply} takes K slices of half {@link #KC}, so that a B micro-panel fits the
     * L1 cache beside the A rows instead of being read from L2 by every row group. 32-register (AVX-512) variant only.
     * Intel AVX-512 host, 2026-12-07, `sdj profile` at 512², alternated twice: with K slices of 256 for every GEMM,
     * BK-SDM-Tiny's 16×16 level (256 rows) took 383–392 against 397–398 ms but its 32×32 level (1024 rows) 545–547
     * against 529–538, hence the row limit; with the limit, MobileDiffusion (its transformers at 16×16) 1268–1272
     * against 1278–1311 ms and BK-SDM-Tiny 1663–1666 against 1705–1711.
     */
    static final int SHORT_KC_MAX_ROWS = Integer.getInteger("sdj.gemm.shortKcMaxRows", KernelVariant.REGISTERS >= 32 ? 256 : 0);
    /** Up to this K, {@link #multiply} sweeps each row group along the columns (C-store bound shapes). */
    static final int ROWS_OUTER_MAX_K = Integer.getInteger("sdj.gemm.rowsOuterMaxK", 64);
    /**
     * From this many elements of C (4 Mi floats, 16 MiB), {@link #multiply} also sweeps each row group along the
     * columns, whatever K: C is then written a row segment at a time (runs of a whole column tile) instead of
     * 12 × 32 blocks down a column strip, two cache lines per row. Where C is far larger than the caches, every line
     * of such a strip is a write miss to memory: at 4096×2560×320 on two threads (C 40 MiB) the strip order ran at
     * 0.84 of the row order, and at 0.80 of its own speed with the stores to C left out (AVX-512 host, 2026-12-07).
     * Only with 512-bit panels: with AVX2 emulated on that host (32-float panels become 16) the row order ran at
     * 0.91–0.95 at the same shape, so there it is off (no limit) unless set. The gated epilogue follows the same
     * rule: its C is the thread's tile buffer, but each tile writes its gated outputs (half of C's columns) to
     * memory, and down a column strip every such row of a tile was a write miss of its own. JMH
     * {@code FeedForwardBench} at 4096 × 320 → 2·1280 (GEGLU), alternated three times (AVX-512 host, 2026-12-07):
     * 60–62 → 54–57 ms on one thread, 28.0–30.6 → 27.6–28.1 ms on two; level at 1024 × 640 → 2·2560.
     */
    static final long ROWS_OUTER_MIN_OUTPUT = Long.getLong("sdj.gemm.rowsOuterMinOutput", NR >= 32 ? 4L << 20 : Long.MAX_VALUE);
    /** Columns per output tile in {@link #multiply} (a multiple of NR). */
    static final int NC = Integer.getInteger("sdj.gemm.ncPanels", 16) * NR;
    /**
     * Columns (pixels) per output tile in {@link #multiplyPacked} (a multiple of NR). 16 panels (512 pixels) against 8:
     * 3–9% faster on one thread at all four UNet 3×3 conv shapes (JMH, two back-to-back rounds, 2026-11-23); on two
     * threads the split below narrows the tiles anyway except at 64×64, where it measured the same.
     */
    static final int NC_PACKED = Integer.getInteger("sdj.gemm.ncPackedPanels", 16) * NR;

    /**
     * Whether {@link #multiplyPacked} runs two 6-row weight panels at a time through the 12-row kernel
     * ({@link GemmKernel#twoPanelsTimesTile}: 24 accumulators, so 32 registers only). Against one panel at a time, with
     * the operands in cache: 178–191 against 141–151 GFLOP/s (one thread, AVX-512, 2026-12-06).
     */
    static final boolean PANEL_PAIRS = KernelVariant.REGISTERS >= 32 && MR == 6;
    private static final ThreadScratch SCRATCH = new ThreadScratch();
    /** Per-thread packed A block of {@link #multiply} (its own buffer: an epilogue may use {@link #scratch}). */
    private static final ThreadScratch PACKED_A = new ThreadScratch();
    /** Per-thread C tile of {@link #multiplyGated}. */
    private static final ThreadScratch GATED_TILE = new ThreadScratch();
    /** Per-thread off-heap float32 micro-panels widened from a 16-bit B (off-heap like the packed ones: the kernels' call sites stay monomorphic). */
    private static final ThreadScratch.OffHeap WIDENED = new ThreadScratch.OffHeap();

    private Gemm() {}

    /** Produces columns of B on demand. */
    @FunctionalInterface
    public interface TileSource {
        /**
         * Writes B[k0 .. k0+kc) × [j0 .. j0+nc) into {@code dst} as ⌈nc/NR⌉ panels, panel p at {@code dst[p·kc·NR]},
         * element (k, j) at {@code + (k−k0)·NR + (j−j0−p·NR)}; columns past {@code nc} in the last panel must be 0.
         */
        void pack(int k0, int kc, int j0, int nc, float[] dst);
    }

    /** Columns per B panel (the kernel's register-tile width). */
    public static int panelWidth() { return NR; }

    /** Even K slices of at most about {@code target}. */
    static int kSlice(int k, int target) { return ceilDiv(k, ceilDiv(k, target)); }

    /**
     * C[i, j] = act(Σ_k A[i, k]·B[k, j] + colBias[j]) + residual[i, j] for i < m, j < N = b.cols(), K = b.rows().
     * A[i, k] = {@code a[aOff + i·lda + k]}, C[i, j] = {@code c[cOff + i·ldc + j]}; residual (nullable) has C's layout.
     */
    public static void multiply(float[] a, int aOff, int lda, int m, PackedMatrix b,
                                float[] c, int cOff, int ldc, float[] colBias, Activation act, float[] residual) {
        if (colBias != null && colBias.length < b.cols()) throw new IllegalArgumentException("bias has " + colBias.length + " values, need " + b.cols());
        multiply(a, aOff, lda, m, b, c, cOff, ldc, GemmEpilogue.of(colBias, null, act, residual));
    }

    /** As above with the epilogue given; null = none. */
    static void multiply(float[] a, int aOff, int lda, int m, PackedMatrix b, float[] c, int cOff, int ldc, GemmEpilogue e) {
        if (e != null && e.gate() != null) throw new IllegalArgumentException("a gated epilogue writes its own output: use multiplyGated");
        multiplyInto(a, aOff, lda, m, b, c, cOff, ldc, e);
    }

    /**
     * A·B with a gated epilogue ({@link GatedLinear}): the gate writes {@code gate.out}, so A·B itself is never stored
     * in a matrix of its own. Each thread accumulates its output tile in a tile buffer of its own (a row block × NC
     * columns, in L2 up to a few hundred rows) and the gate reads it from there. (At 4096 × 320 → 2560 the blocks are
     * 828 rows and the buffer 1.7 MiB, beyond L2 beside the A slice: measured level with 192-row blocks, see
     * {@link #rowBlock}.) Writing the whole 2·inner projection to memory
     * instead, only to read each tile back at once, cost a third of the GEMM's time at 4096 × 320 → 2560 (its store
     * misses: a probe writing the same tiles to a cache-resident buffer ran 1.3–1.4× faster, one thread, 2026-12-06).
     */
    static void multiplyGated(float[] a, int aOff, int lda, int m, PackedMatrix b, GemmEpilogue e) {
        if (e == null || e.gate() == null) throw new IllegalArgumentException("multiplyGated needs a gated epilogue");
        multiplyInto(a, aOff, lda, m, b, null, 0, 0, e);
    }

    /** The GEMM of {@link #multiply}; with a gated epilogue C is each thread's tile buffer ({@code c} is not used). */
    private static void multiplyInto(float[] a, int aOff, int lda, int m, PackedMatrix b, float[] c, int cOff, int ldc, GemmEpilogue e) {
        if (b.layout() != PackedMatrix.Layout.COLUMN_PANELS) throw new IllegalArgumentException("B must be column panels, got " + b);
        int k = b.rows(), n = b.cols();
        if (m <= 0) return;
        int kcs = kSliceOf(m, k);
        int mc = rowBlock(m, kcs);
        int tilesM = ceilDiv(m, mc);
        // column tiles: see columnTileWidth (the tile grid may depend on the thread count: each element is computed
        // the same way anyway)
        final int ncf = columnTileWidth(m, mc, n, Parallel.threads());
        int tilesN = ceilDiv(n, ncf);
        var packed = b.segment();
        boolean gated = e != null && e.gate() != null;
        boolean rowsOuter = k <= ROWS_OUTER_MAX_K || (long) m * n >= ROWS_OUTER_MIN_OUTPUT;
        int panelsN = ceilDiv(n, NR), panelsPerTile = ncf / NR;
        IntUnaryOperator cost = t -> tileCost(t, m, mc, panelsN, panelsPerTile, tilesN);
        // 4- and 12-row tiles: the row block is packed [group][k][rows] once per K slice and reused by every panel of the tile
        // packing A costs MRA/4 gathers per L/4 steps of k, paid back over the tile's column panels: with at most
        // four panels (N ≤ 128 at 512 bits) the 6-row kernel reading A in place is faster than the 12-row one
        // (0.84–0.97× at 1280 × 32…128 × 11520 and 4096 × 64 × 320, one thread, 2026-12-06)
        boolean pack = KernelVariant.PACK_A && !(MRA == 12 && ceilDiv(Math.min(ncf, n), NR) <= 4);
        final int rowsA = pack ? MRA : 6;   // rows per register tile of this call (not packed: the 6-row in-place kernel)
        runTiles(tilesM * tilesN, cost, (from, to) -> {
            float[] acc = new float[Math.max(MR, MRA) * NR];
            // gated: this thread's C tile, [mc][ncf], in place of the matrix C
            float[] cTile = gated ? GATED_TILE.atLeast(mc * ncf) : null;
            float[] cc = gated ? cTile : c;
            int ldcc = gated ? ncf : ldc;
            // packed A of one row block, all K slices ([slice][group][k][rows]): packed while the first of this thread's
            // tiles in that row block runs, then reused by its other column tiles (packing it again for every column
            // tile cost 2–10%: JMH, old / new alternated twice, AVX-512 host, 2026-12-07, 2 threads 4096×2560×320
            // 278–280 → 285–300 GFLOP/s, 256×5120×640 270–274 → 283–298, 2048³ 257–272 → 273–289)
            float[] ap = pack ? PACKED_A.atLeast(mc * k) : null;
            int packedRowBlock = -1;
            int[] map = pack ? new int[GemmKernel.PACK_MAP] : null;
            int mapRows = 0;   // the rows map holds (lda is fixed; only a last, partial row group changes it)
            // 16-bit B: the kernels read this thread's float32 copy of the tile's micro-panels (see widened)
            MemorySegment mat = b.isHalf() ? WIDENED.atLeast((rowsOuter ? ncf : NR) * kcs) : packed;
            for (int t = from; t < to; t++) {
                int i0 = (t / tilesN) * mc, i1 = Math.min(m, i0 + mc);
                int j0 = (t % tilesN) * ncf, j1 = Math.min(n, j0 + ncf);
                boolean packNow = pack && packedRowBlock != t / tilesN;
                for (int k0 = 0; k0 < k; k0 += kcs) {
                    int kc = Math.min(kcs, k - k0);
                    boolean first = k0 == 0, last = k0 + kc == k;
                    int panels = ceilDiv(j1 - j0, NR), groups = ceilDiv(i1 - i0, rowsA);
                    int slice = groups * rowsA * k0;   // this K slice's packed rows in ap
                    if (packNow) {
                        for (int g = 0; g < groups; g++) {
                            int i = i0 + g * rowsA;
                            int mr = Math.min(rowsA, i1 - i);
                            if (mr != mapRows) GemmKernel.packMap(lda, mapRows = mr, map);
                            GemmKernel.packRows(a, aOff + i * lda + k0, map, kc, ap, slice + g * rowsA * kc);
                        }
                    }
                    for (int q = 0; q < panels * groups; q++) {
                        // short K: sweep each row group along its columns (C written row-sequentially);
                        // else keep one B micro-panel in L1 while the row groups pass over it
                        int pj = rowsOuter ? q % panels : q / groups, ri = rowsOuter ? q / panels : q % groups;
                        int j = j0 + pj * NR, i = i0 + ri * rowsA;
                        int nr = Math.min(NR, j1 - j);
                        long bOff = b.isHalf() ? widened(b, j / NR, k0, kc, mat, rowsOuter ? pj : 0, ri == 0) : b.columnPanelOffset(j / NR, k0);
                        {
                            int mr = Math.min(rowsA, i1 - i), iLast = i1 - 1;
                            int co = gated ? (i - i0) * ncf + (j - j0) : cOff + i * ldc + j;
                            // an epilogue into C is applied on the way from acc (see GemmEpilogue.storeTile)
                            boolean fuse = last && e != null && !gated;
                            boolean direct = first && mr == rowsA && nr == NR && !fuse;
                            int r0 = aOff + i * lda + k0;
                            if (pack && MRA == 12) GemmKernel.packed12RowsTimesPanel(ap, slice + ri * rowsA * kc, mat, bOff, kc,
                                    direct ? cc : acc, direct ? co : 0, direct ? ldcc : NR);
                            else if (pack) GemmKernel.packed4RowsTimesPanel(ap, slice + ri * rowsA * kc, mat, bOff, kc,
                                    direct ? cc : acc, direct ? co : 0, direct ? ldcc : NR);
                            else GemmKernel.rowsTimesPanel(a,
                                    r0, r0 + Math.min(1, iLast - i) * lda, r0 + Math.min(2, iLast - i) * lda,
                                    r0 + Math.min(3, iLast - i) * lda, r0 + Math.min(4, iLast - i) * lda,
                                    r0 + Math.min(5, iLast - i) * lda,
                                    mat, bOff, kc, direct ? cc : acc, direct ? co : 0, direct ? ldcc : NR);
                            if (fuse) {
                                e.storeTile(acc, 0, NR, first, cc, co, ldcc, mr, nr, i, j);
                            } else {
                                if (!direct) GemmKernel.storeTile(acc, 0, NR, cc, co, ldcc, mr, nr, first);
                                if (last && gated) e.applyTile(cc, co, ldcc, mr, nr, i, j);
                            }
                        }
                    }
                }
                if (packNow) packedRowBlock = t / tilesN;
            }
        });
    }

    /** The K slice of {@link #multiply} for m rows and depth k. */
    static int kSliceOf(int m, int k) { return kSlice(k, m <= SHORT_KC_MAX_ROWS ? KC / 2 : KC); }

    /**
     * Rows per row block of {@link #multiply} for m rows and K slices of kcs: as few blocks as keep each block's A
     * slice (rows × kcs floats, before rounding) within {@link #A_BLOCK_BYTES}, of near-equal height, rounded up to
     * whole register tiles ({@code -Dsdj.gemm.mcRows} fixes the height instead). Every row block streams all of B
     * again, and in a UNet B is the weights, read from memory (each weight matrix is used once per evaluation, far
     * from any cache in between). The fixed 192 rows used before this rule streamed a 256-row layer's weights twice
     * and a 1024-row layer's six times. With half of this host's 2 MiB L2 (one block up to 1024 rows at K slices of
     * 256, 516-row blocks at 512), in one JVM alternating both rules over 1 GiB of distinct weight matrices, two
     * threads, medians of 8 rounds (AVX-512 host, 2026-12-07): 256 × 6144 × 1024 250 → 265 GFLOP/s, 256 × 10240 ×
     * 1280 258 → 278, 1024 × 640 × 2560 263 → 303, 1024 × 640 × 5760 256 → 278, 2048³ 295 → 318, the 4096-row
     * shapes level (4096 × 2560 × 320 300 → 301); on one thread 256 × 6144 × 1024 131 → 147; gated
     * ({@link #multiplyGated}) 256 × 6144 × 1024 274 → 302, 1024 × 5120 × 640 268 → 294, 4096 × 2560 × 320 260 → 259.
     */
    static int rowBlock(int m, int kcs) {
        long blocks = KernelVariant.MC_FIXED > 0 ? ceilDiv(m, KernelVariant.MC_FIXED)
                : Math.max(1, Math.ceilDiv((long) m * kcs * Float.BYTES, A_BLOCK_BYTES));
        return ceilDiv(ceilDiv(m, (int) Math.min(m, blocks)), MRA) * MRA;
    }

    /**
     * Columns per output tile of {@link #multiply} (m rows in blocks of mc, N columns): a multiple of NR, at most
     * {@link #NC}, narrow enough for a couple of tiles per thread when there are few row blocks, and of those widths
     * the widest whose tiles {@link #runTiles} shares out within {@link #EVEN_ENOUGH} of the most even split.
     * Narrowing NC a panel at a time until there were tiles enough left slivers: 64 × 1280 became tiles of 13, 13, 13
     * and 1 panels, split 26 : 14 between two threads, and ran at 1.5× one thread's speed; in four tiles of 10 panels
     * at 2.0× (JMH, 196–199 → 270 GFLOP/s on two threads, AVX-512 host, 2026-12-07).
     */
    static int columnTileWidth(int m, int mc, int n, int threads) {
        int panels = ceilDiv(n, NR), tilesM = ceilDiv(m, mc);
        int best = Math.min(NC / NR, panels);
        if (threads == 1) return best * NR;   // one thread runs every tile: any width is as even as the widest
        int needed = Math.min(2 * threads, tilesM * panels);
        long[] span = new long[best + 1];   // 0: too few tiles at that width
        long evenest = Long.MAX_VALUE;
        for (int w = best; w >= 1; w--) {
            if (tilesM * ceilDiv(panels, w) < needed) continue;
            span[w] = tileSpan(m, mc, panels, w, threads);
            evenest = Math.min(evenest, span[w]);
        }
        for (int w = best; w > 1; w--) {
            if (span[w] > 0 && span[w] * EVEN_ENOUGH <= evenest * (EVEN_ENOUGH + 1)) return w * NR;
        }
        return NR;
    }

    /**
     * How much more than the most even split's busiest thread {@link #columnTileWidth} accepts for a wider tile: 1/20
     * of it. Taking the most even split whatever the width cut large matrices into tiles of one or two panels for a
     * gain of a percent or two in balance: C then written in short row segments, and with a long K the row block's
     * packed A (all its K slices, beyond L2) streamed again for every tile. On two threads, widths alternated in one
     * JVM, medians of 8 (AVX-512 host, 2026-12-07), GFLOP/s, most even width → widest within 1/20:
     * 4096 × 2880 × 320 (2 → 16 panels) 240 → 313, 1024 × 5120 × 640 (1 → 16) 248 → 286, 1024 × 640 × 2560 (1 → 16)
     * 274 → 311, 1024 × 640 × 5760 (1 → 16) 245 → 267; 64 × 2560 × 640 (10 → 14) 310 → 303, within the noise.
     */
    static final int EVEN_ENOUGH = 20;

    /** The largest share of work (row groups × panels) {@link #runTiles} gives one thread for this tile grid. */
    static long tileSpan(int m, int mc, int panels, int w, int threads) {
        int tilesN = ceilDiv(panels, w), tiles = ceilDiv(m, mc) * tilesN;
        long[] prefix = costPrefix(tiles, t -> tileCost(t, m, mc, panels, w, tilesN));
        int[] bounds = chunkBounds(prefix, Math.min(threads, tiles));
        long span = 0;
        for (int p = 0; p + 1 < bounds.length; p++) span = Math.max(span, prefix[bounds[p + 1]] - prefix[bounds[p]]);
        return span;
    }

    /**
     * Byte offset in {@code scratch} of B's column panel {@code panel}, K slice [k0, k0 + kc), widened to float32 in
     * slot {@code slot} (one per panel of the tile when the row groups sweep the columns, else one for all); widened
     * when row group 0 reads it ({@code fresh}), the other row groups reuse it: a kc × NR widening per ⌈rows/MR⌉
     * register tiles of FMAs. So, per (tile, K slice), row group 0 must be the first to read each panel, and with one
     * slot all groups must read a panel before the next panel is widened (both loop orders of {@link #multiply} do).
     */
    private static long widened(PackedMatrix b, int panel, int k0, int kc, MemorySegment scratch, int slot, boolean fresh) {
        long off = (long) slot * kc * NR * Float.BYTES;
        if (fresh) b.widenColumnPanel(panel, k0, kc, scratch, off);
        return off;
    }

    /**
     * C[i, j] = act(Σ_k A[i, k]·B[k, j] + rowBias[i]) + residual[i, j] for i < M = a.rows(), j < n, K = a.cols(),
     * B supplied by {@code src}. C[i, j] = {@code c[cOff + i·ldc + j]}; residual (nullable) has C's layout.
     */
    public static void multiplyPacked(PackedMatrix a, int n, TileSource src,
                                      float[] c, int cOff, int ldc, float[] rowBias, Activation act, float[] residual) {
        if (a.layout() != PackedMatrix.Layout.ROW_PANELS) throw new IllegalArgumentException("A must be row panels, got " + a);
        int m = a.rows(), k = a.cols();
        if (n <= 0) return;
        if (rowBias != null && rowBias.length < m) throw new IllegalArgumentException("bias has " + rowBias.length + " values, need " + m);
        GemmEpilogue e = GemmEpilogue.of(null, rowBias, act, residual);
        int kcs = kSlice(k, KC_PACKED);
        // Wide pixel tiles reuse each weight block most. For several threads, split the pixels first (each part gathers
        // only its own patches) into up to a couple of tiles per thread, no narrower than 4 panels; only when that
        // leaves fewer tiles than threads, split the output rows too (each row part gathers all the patches again:
        // gathering costs more per element than streaming the weights: on 2 threads, interleaved with the GEMM at the
        // same size, 1280 channels went from 0.85 to 0.94 of its rate at 16×16 and from 0.70 to 0.84 at 8×8,
        // 2026-11-22). Tiles of one split are near-equal in size.
        int threads = Parallel.threads();
        int want = threads == 1 ? 1 : 2 * threads;
        int nc = NC_PACKED, tilesN = ceilDiv(n, nc), rowBlocks = 1;
        if (tilesN < want) {
            tilesN = Math.max(tilesN, Math.min(want, ceilDiv(n, Math.min(nc, 4 * NR))));
            nc = ceilDiv(ceilDiv(n, tilesN), NR) * NR;
            tilesN = ceilDiv(n, nc);
            if (tilesN < threads) rowBlocks = Math.max(1, Math.min(ceilDiv(threads, tilesN), m / (4 * MR)));
        }
        int rowsPer = ceilDiv(ceilDiv(m, rowBlocks), MR) * MR;
        int tilesM = ceilDiv(m, rowsPer);
        final int ncf = nc, tn = tilesN;
        IntUnaryOperator cost = t -> ceilDiv(Math.min(rowsPer, m - (t / tn) * rowsPer), MR) * ceilDiv(Math.min(ncf, n - (t % tn) * ncf), NR);
        runTiles(tilesM * tilesN, cost, (from, to) -> {
            // this thread's B tile, followed by room for one weight micro-panel (two with PANEL_PAIRS)
            float[] tile = scratch(kcs * ncf + kcs * MR * (PANEL_PAIRS ? 2 : 1));
            int aPanel = kcs * ncf, aPanel2 = aPanel + kcs * MR;
            float[] acc = new float[(PANEL_PAIRS ? 2 : 1) * MR * NR];
            for (int t = from; t < to; t++) {
                int m0 = (t / tn) * rowsPer, m1 = Math.min(m, m0 + rowsPer);
                int j0 = (t % tn) * ncf, nc1 = Math.min(ncf, n - j0);
                for (int k0 = 0; k0 < k; k0 += kcs) {
                    int kc = Math.min(kcs, k - k0);
                    boolean first = k0 == 0, last = k0 + kc == k;
                    src.pack(k0, kc, j0, nc1, tile);
                    int panels = ceilDiv(nc1, NR);
                    // row groups outer: the group's weight micro-panel, copied to the heap (see panelTimesTile), stays
                    // in L1 while the B tile streams from L2 (measured 3–10% faster than B micro-panels outer)
                    for (int i = m0; i < m1; ) {
                        // with 32 registers two row panels at a time (the 12-row kernel), a last odd one alone
                        boolean pair = PANEL_PAIRS && i + MR < m1;
                        int rows = pair ? 2 * MR : MR;
                        a.copyRowPanel(i / MR, k0, kc, tile, aPanel);   // widened when the weights are 16-bit
                        if (pair) a.copyRowPanel(i / MR + 1, k0, kc, tile, aPanel2);
                        int mr = Math.min(rows, m1 - i);
                        for (int p = 0; p < panels; p++) {
                            int j = j0 + p * NR, nr = Math.min(NR, j0 + nc1 - j), co = cOff + i * ldc + j;
                            boolean fuse = last && e != null;   // the epilogue on the way from acc to C
                            boolean direct = first && mr == rows && nr == NR && !fuse;
                            if (pair) GemmKernel.twoPanelsTimesTile(tile, aPanel, aPanel2, tile, p * kc * NR, kc,
                                    direct ? c : acc, direct ? co : 0, direct ? ldc : NR);
                            else GemmKernel.panelTimesTile(tile, aPanel, tile, p * kc * NR, kc,
                                    direct ? c : acc, direct ? co : 0, direct ? ldc : NR);
                            if (fuse) e.storeTile(acc, 0, NR, first, c, co, ldc, mr, nr, i, j);
                            else if (!direct) GemmKernel.storeTile(acc, 0, NR, c, co, ldc, mr, nr, first);
                        }
                        i += rows;
                    }
                }
            }
        });
    }

    /**
     * Runs tiles [0, tiles) over the threads in contiguous chunks of near-equal total {@code cost} (tiles differ in
     * size at the matrix edges). Which thread runs a tile never changes its result.
     */
    static void runTiles(int tiles, IntUnaryOperator cost, Parallel.RangeBody body) {
        int threads = Math.min(Parallel.threads(), tiles);
        if (threads <= 1) {
            if (tiles > 0) body.run(0, tiles);
            return;
        }
        long[] prefix = costPrefix(tiles, cost);
        int[] bounds = chunkBounds(prefix, threads);
        Parallel.forEach(threads, p -> {
            if (bounds[p + 1] > bounds[p]) body.run(bounds[p], bounds[p + 1]);
        });
    }

    /**
     * The work of tile t of {@link #multiply}'s grid (row blocks of mc of the m rows, column tiles of w of the panels,
     * tilesN of them per row block, row-major): its row groups times its panels, the cost {@link #runTiles} balances.
     */
    static int tileCost(int t, int m, int mc, int panels, int w, int tilesN) {
        return ceilDiv(Math.min(mc, m - (t / tilesN) * mc), MRA) * Math.min(w, panels - (t % tilesN) * w);
    }

    /** prefix[t] = the summed cost of tiles [0, t). */
    private static long[] costPrefix(int tiles, IntUnaryOperator cost) {
        long[] prefix = new long[tiles + 1];
        for (int t = 0; t < tiles; t++) prefix[t + 1] = prefix[t] + cost.applyAsInt(t);
        return prefix;
    }

    /**
     * Where {@link #runTiles} cuts tiles [0, tiles) into {@code threads} contiguous chunks, given the prefix sums of
     * their costs: chunk p is [bounds[p], bounds[p + 1]), each cut at the tile boundary closest to an equal share.
     */
    static int[] chunkBounds(long[] prefix, int threads) {
        int tiles = prefix.length - 1;
        int[] bounds = new int[threads + 1];
        bounds[threads] = tiles;
        for (int p = 1, t = 0; p < threads; p++) {
            long target = prefix[tiles] * p / threads;
            while (t < tiles && prefix[t + 1] <= target) t++;
            // end the chunk at whichever tile boundary lies closer to the target
            if (t < tiles && prefix[t + 1] - target < target - prefix[t]) t++;
            bounds[p] = Math.max(bounds[p - 1], t);
        }
        return bounds;
    }

    /** This thread's scratch buffer of at least {@code n} floats (kept for reuse: steady state allocates nothing). */
    static float[] scratch(int n) { return SCRATCH.atLeast(n); }
}
