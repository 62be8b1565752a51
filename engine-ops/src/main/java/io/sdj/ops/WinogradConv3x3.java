package io.sdj.ops;

import io.sdj.core.DType;
import io.sdj.core.Parallel;
import io.sdj.core.WeightTensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.sdj.ops.PackedMatrix.ceilDiv;

/**
 * A stride-1 3×3 convolution (any zero padding) by Winograd's minimal filtering F(m×m, 3×3) (Lavin &amp; Gray 2016):
 * each m×m output tile is Aᵀ·[Σ_c (G·g_c·Gᵀ) ⊙ (Bᵀ·d_c·B)]·A, with d_c the (m+2)×(m+2) input patch of channel c and
 * g_c the 3×3 kernel. The element-wise product summed over channels is α² = (m+2)² independent GEMMs
 * U[ξν] (Cout × Cin) · V[ξν] (Cin × tiles): 36 multiplies per 4×4 tile instead of 144 (m = 4), 16 per 2×2 tile
 * instead of 36 (m = 2).
 * <p>Weights U = G·g·Gᵀ are transformed once (in double precision) and kept off-heap in the GEMM's row-panel layout,
 * one panel set per ξν, as float32 (or, if asked for, binary16 for 16-bit weights with F(2×2), widened per weight
 * micro-panel as the GEMM needs it: {@link #transformedType}). The input and output transforms are fused with the
 * tiling: a thread takes a group of tiles, transforms their input patches for all channels into a small V
 * (α² × Cin × group), runs the α² GEMMs into a small M (α² × Cout × group) and inverse-transforms M straight into the
 * output, adding bias, activation and residual; no transformed tensor of the whole image ever exists.
 * <p>Lanes are tiles: the patches of L tiles side by side are split out of a zero-padded copy of the rows they need
 * with even/odd lane selections (gathered, where the L tiles wrap onto the next tile row), the transforms run
 * lane-wise, the outputs are zipped back into rows, and the GEMM is {@link GemmKernel#panelTimesTile} over panels of {@link GemmKernel#NR} tiles. Every
 * tile is computed the same way whichever group and thread it falls in, and the sum over channels always runs in the
 * same K slices, so results are bit-identical for any thread count.
 * <p>Accuracy: the transforms scale values by up to 5 (m = 4) or 1 (m = 2) before the sum over channels, so float32
 * rounding grows by roughly that factor over direct convolution (the test states and checks the bound).
 */
final class WinogradConv3x3 {
    /** The output tile: F(2×2, 3×3) or F(4×4, 3×3). */
    enum Tile {
        F2(2), F4(4);

        /** Output tile side. */
        final int m;
        /** Input tile side, m + 2. */
        final int alpha;

        Tile(int m) {
            this.m = m;
            this.alpha = m + 2;
        }

        /** The weight transform G (α × 3), interpolation points 0, ±1, ∞ (m = 2) or 0, ±1, ±2, ∞ (m = 4). */
        double[][] g() {
            return this == F2
                    ? new double[][]{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
                    : new double[][]{{1 / 4.0, 0, 0}, {-1 / 6.0, -1 / 6.0, -1 / 6.0}, {-1 / 6.0, 1 / 6.0, -1 / 6.0},
                    {1 / 24.0, 1 / 12.0, 1 / 6.0}, {1 / 24.0, -1 / 12.0, 1 / 6.0}, {0, 0, 1}};
        }
    }

    private static final VectorSpecies<Float> S = GemmKernel.S;
    private static final int L = GemmKernel.L, MR = GemmKernel.MR, NR = GemmKernel.NR;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** K slice of the α² GEMMs (fixed, so the summation order never depends on the tiling). */
    private static final int KC = 384;
    /**
     * Most GEMM panels of tiles per group. Each weight micro-panel is copied once per group and serves all its panels;
     * the transformed weights (α²/9 times the direct ones) come from memory, so a group of P panels does 2·P·NR
     * effective FLOPs per weight byte: 8 panels of 32 tiles match the direct convolution's 512-pixel tiles.
     */
    private static final int GROUP_PANELS = 8;
    /** Bytes of U, and of V + M, that a group keeps in L2 (half of this host's 2 MiB per core) for small layers. */
    private static final long CACHE_BYTES = 1L << 20;
    /** Upper bound of one thread's V + M scratch in floats (32 MiB). */
    private static final long SCRATCH_FLOATS = 8L << 20;
    /**
     * Lane-index tables for two-vector {@code selectFrom}: the even / odd elements of two concatenated vectors
     * (deinterleaving a row into every m-th pixel), and the low / high halves of two vectors zipped lane by lane
     * (interleaving tiles' outputs back into a row).
     */
    private static final float[] EVEN = new float[L], ODD = new float[L], ZIP_LO = new float[L], ZIP_HI = new float[L];
    static {
        for (int j = 0; j < L; j++) {
            EVEN[j] = 2 * j;
            ODD[j] = 2 * j + 1;
            ZIP_LO[j] = (j % 2 == 0 ? 0 : L) + j / 2;
            ZIP_HI[j] = (j % 2 == 0 ? 0 : L) + L / 2 + j / 2;
        }
    }
    private static final ThreadScratch SCRATCH = new ThreadScratch();
    private static final ThreadLocal<int[]> INDEX = new ThreadLocal<>();

    private final Tile tile;
    /** Element type of U: F32, or F16 (binary16) for F(2×2) of 16-bit weights when asked for. */
    private final DType uType;
    private final int cout, cin, pad, coutPad, rowPanels, kcs;
    /**
     * U, off-heap, one segment per row panel of MR outputs: [α²][cin][MR]. The segments are allocated by the threads
     * that transform the weights (a range of panels each), so the zeroing and first touch of this memory — more than
     * the transform itself when it was one allocation on the loading thread — run in parallel too.
     */
    private final MemorySegment[] u;
    /**
     * A heap copy of U when it fits {@link #CACHE_BYTES} (small layers), read by the GEMM kernel in place: their groups
     * are small, so copying each weight micro-panel per group, as for large layers, would cost as much as using it.
     */
    private float[] uHeap;   // set once by of(), before the layer is published

    private WinogradConv3x3(Tile tile, DType uType, int cout, int cin, int pad) {
        this.tile = tile;
        this.uType = uType;
        this.cout = cout;
        this.cin = cin;
        this.pad = pad;
        this.rowPanels = ceilDiv(cout, MR);
        this.coutPad = rowPanels * MR;
        this.kcs = Gemm.kSlice(cin, KC);
        this.u = new MemorySegment[rowPanels];
    }

    /**
     * Off-heap bytes of U for a cout × cin layer whose weights are packed as {@code packed}: α² · cout rounded up to
     * whole row panels · cin elements of {@link #transformedType}.
     */
    static long transformedWeightBytes(Tile tile, int cout, int cin, DType packed) {
        return (long) tile.alpha * tile.alpha * ceilDiv(cout, MR) * MR * cin * transformedType(packed, tile).bytes();
    }

    /**
     * The element type U is kept in for weights packed as {@code packed}: float32, unless
     * {@code -Dsdj.conv.winogradWeights=f16} asks for binary16 U for 16-bit weights (F16, BF16) with F(2×2) — half the
     * memory, the first-use page faults and the memory traffic of the largest layers (1280 channels at 16×16: 105 MB
     * as float32).
     * <p>Rounding U to binary16 changes each transformed weight by at most 2⁻¹¹ of itself (2⁻²⁵ absolute below
     * binary16's normal range). Through F(2×2)'s transforms (coefficients ±1) that costs about as much accuracy as the
     * file's own 16-bit rounding of the weights (measured 1.5× it at a trained layer's scale, {@code WinogradTest});
     * F(4×4)'s output transform multiplies it by up to 8 per direction (measured 26×), so F(4×4) keeps float32 U.
     * A layer whose U would overflow binary16 keeps float32 U too. It is not the default because a 16-bit file must
     * give the outputs of its values computed in float32 within the golden cases' tolerances (TAESD's pool-branch
     * files, F16 `.pth`: max |error| 1.4·10⁻³ with binary16 U against a tolerance of 2·10⁻⁴).
     */
    static DType transformedType(DType packed, Tile tile) {
        return packed == DType.F32 || tile != Tile.F2 || !ConvAlgorithm.HALF_TRANSFORMED_WEIGHTS ? DType.F32 : DType.F16;
    }

    /**
     * The transformed weights of a conv whose [cout, cin·3·3] weight is {@code w} (row panels, as {@link Conv2d}
     * packs it).
     */
    static WinogradConv3x3 of(PackedMatrix w, int pad, Tile tile) {
        DType uType = transformedType(w.storage(), tile);
        WinogradConv3x3 c = of(w, pad, tile, uType);
        return c != null ? c : of(w, pad, tile, DType.F32);
    }

    /** As above with U of {@code uType} (F32 or F16); null when a transformed value overflows binary16. */
    static WinogradConv3x3 of(PackedMatrix w, int pad, Tile tile, DType uType) {
        if (w.layout() != PackedMatrix.Layout.ROW_PANELS || w.cols() % 9 != 0) throw new IllegalArgumentException("not a 3×3 conv weight: " + w);
        return of(w.rows(), w.cols() / 9, pad, tile, uType, () -> (p, taps) -> w.copyRowPanel(p, 0, w.cols(), taps, 0));
    }

    /**
     * The transformed weights of a conv straight from its [cout, cin, 3, 3] weight, which need not be packed (a layer
     * that only ever runs as a Winograd convolution never needs its direct form): the same floats as packing it gives
     * ({@link PackedMatrix#readRow}: 16-bit values widened exactly), so the same U bit for bit.
     * U's type as for the weight packed ({@link PackedMatrix#packedType}).
     */
    static WinogradConv3x3 of(WeightTensor w, int pad, Tile tile) {
        if (w.shape().length != 4 || w.dim(2) != 3 || w.dim(3) != 3) throw new IllegalArgumentException("not a 3×3 conv weight: " + w);
        int cout = w.dim(0), cin = w.dim(1);
        boolean half = HalfFloats.isHalf(w.dtype());
        java.util.function.Supplier<Taps> rows = () -> {
            float[] row = new float[cin * 9];   // each thread's staging buffers
            short[] bits = half ? new short[cin * 9] : null;
            return (p, taps) -> PackedMatrix.readRowPanel(w, p, MR, taps, row, bits);
        };
        DType uType = transformedType(PackedMatrix.packedType(w.dtype()), tile);
        WinogradConv3x3 c = of(cout, cin, pad, tile, uType, rows);
        return c != null ? c : of(cout, cin, pad, tile, DType.F32, rows);
    }

    /** The taps of row panel p as packed: taps[(ci·9 + j)·MR + r] for row r of the panel, rows past cout 0. */
    private interface Taps {
        void read(int panel, float[] taps);
    }

    /** U of {@code uType} from the taps each thread's {@link Taps} reads; null when a value overflows binary16. */
    private static WinogradConv3x3 of(int cout, int cin, int pad, Tile tile, DType uType, java.util.function.Supplier<Taps> source) {
        if (uType != DType.F32 && uType != DType.F16) throw new IllegalArgumentException("transformed weights of " + uType);
        WinogradConv3x3 c = new WinogradConv3x3(tile, uType, cout, cin, pad);
        boolean half = uType == DType.F16;
        AtomicBoolean overflow = new AtomicBoolean();
        int a = tile.alpha;
        double[][] g = tile.g();
        // one row panel (MR outputs) at a time, in parallel: each tap of the panel is MR contiguous floats, and each
        // transformed value of the panel lands as MR contiguous floats of U; every value is computed as before (in
        // double, rounded once), so the result does not depend on the thread count
        long panelBytes = c.panelBytes();
        Parallel.forRange(c.rowPanels, (p0, p1) -> {
            MemorySegment mine = Arena.ofAuto().allocate((p1 - p0) * panelBytes, 64);
            Taps reader = source.get();
            float[] taps = new float[cin * 9 * MR], panel = new float[a * a * cin * MR];
            short[] panel16 = half ? new short[panel.length] : null;
            for (int p = p0; p < p1; p++) {
                MemorySegment u = mine.asSlice((p - p0) * panelBytes, panelBytes);
                c.u[p] = u;
                reader.read(p, taps);   // widened when the weights are 16-bit
                transformPanel(taps, cin, g, panel);
                if (half) {
                    if (!toBinary16(panel, panel16)) overflow.set(true);
                    MemorySegment.copy(panel16, 0, u, U16, 0, panel16.length);
                } else {
                    MemorySegment.copy(panel, 0, u, F, 0, panel.length);
                }
            }
        });
        if (overflow.get()) return null;
        int panelFloats = (int) (panelBytes / uType.bytes());
        if ((long) c.rowPanels * panelFloats * Float.BYTES <= CACHE_BYTES) {
            float[] heap = new float[c.rowPanels * panelFloats];
            for (int p = 0; p < c.rowPanels; p++) c.widen(c.u[p], 0, heap, p * panelFloats, panelFloats);
            c.uHeap = heap;
        }
        return c;
    }

    /**
     * U of one row panel, {@code u[(xi·cin + ci)·MR + r]} with xi = i·α + j, from its taps ({@link Taps#read}): G·w·Gᵀ
     * per output row and input channel, in double and rounded once. A method of its own, called once per row panel,
     * so the JIT compiles this loop once instead of on-stack-replacing the caller's loops layer after layer.
     */
    private static void transformPanel(float[] taps, int cin, double[][] g, float[] u) {
        int a = g.length;
        double[] gk = new double[a * 3];
        for (int ci = 0; ci < cin; ci++) {
            int t = ci * 9 * MR;
            for (int r = 0; r < MR; r++) {
                for (int i = 0; i < a; i++) {
                    for (int j = 0; j < 3; j++) {
                        gk[i * 3 + j] = g[i][0] * taps[t + j * MR + r] + g[i][1] * taps[t + (3 + j) * MR + r] + g[i][2] * taps[t + (6 + j) * MR + r];
                    }
                }
                for (int i = 0; i < a; i++) {
                    for (int j = 0; j < a; j++) {
                        u[((i * a + j) * cin + ci) * MR + r] = (float) (gk[i * 3] * g[j][0] + gk[i * 3 + 1] * g[j][1] + gk[i * 3 + 2] * g[j][2]);
                    }
                }
            }
        }
    }

    /**
     * {@code src} rounded once more, float32 to binary16 (the double-to-float32 rounding before it adds at most 2⁻²⁴
     * relative), into {@code dst}; false when a finite value overflows binary16.
     */
    private static boolean toBinary16(float[] src, short[] dst) {
        boolean ok = true;
        for (int i = 0; i < src.length; i++) {
            short h = Float.floatToFloat16(src[i]);
            if (Float.isInfinite(Float.float16ToFloat(h)) && Float.isFinite(src[i])) ok = false;
            dst[i] = h;
        }
        return ok;
    }

    Tile tile() { return tile; }

    /** F32 or F16: how U is stored. */
    DType transformedType() { return uType; }

    /** {@code n} elements of U at byte {@code off} of {@code seg} as floats into {@code dst[at ..]}. */
    private void widen(MemorySegment seg, long off, float[] dst, int at, int n) {
        if (uType == DType.F16) HalfFloats.widen(DType.F16, seg, off, dst, at, n);
        else MemorySegment.copy(seg, F, off, dst, at, n);
    }

    /** Off-heap bytes held by the transformed weights. */
    long byteSize() { return rowPanels * panelBytes(); }

    /** Bytes of one row panel of U: α² · cin · MR elements. */
    private long panelBytes() { return (long) tile.alpha * tile.alpha * cin * MR * uType.bytes(); }

    private long uOffset(int xi, int c) { return ((long) xi * cin + c) * MR * uType.bytes(); }

    /**
     * y = act(conv(x) + bias) + residual for one image: x at {@code x[xOff]} [cin, h, w], y at {@code y[yOff]}
     * [cout, oh, ow] with oh = h + 2·pad − 2 (likewise ow); residual (nullable) has y's layout and offsets.
     */
    void forward(float[] x, int xOff, int h, int w, float[] bias, Activation act, float[] residual, float[] y, int yOff) {
        forward(x, xOff, h, w, 1, bias, act, residual, false, y, yOff);
    }

    /**
     * As above with two fusions: the input is x [cin, h/up, w/up] upsampled {@code up}× (nearest, as
     * {@link Elementwise#upsampleNearest}) while the padded rows are read, so the upsampled tensor is never written;
     * with {@code actLast} the output is act(conv(x) + bias + residual) (TAESD's block ends: ReLU after the skip
     * add) instead of act(…) + residual. h and w are the upsampled sizes (multiples of {@code up}).
     */
    void forward(float[] x, int xOff, int h, int w, int up, float[] bias, Activation act, float[] residual, boolean actLast,
                 float[] y, int yOff) {
        if (up < 1 || h % up != 0 || w % up != 0) throw new IllegalArgumentException("upsampling " + up + "× does not give " + h + "×" + w);
        int m = tile.m, a = tile.alpha;
        int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
        int th = ceilDiv(oh, m), tw = ceilDiv(ow, m), tiles = th * tw;
        // groups of tiles: up to GROUP_PANELS panels each, at least one group per thread, V + M within SCRATCH_FLOATS
        int threads = Parallel.threads();
        if (threads > 1 && uHeap == null && ceilDiv(tiles, threads) <= NR && rowPanels >= 2 * threads
                && (long) a * a * ceilDiv(tiles, NR) * NR * (cin + coutPad) <= SCRATCH_FLOATS) {
            // so few tiles that a split by tiles gives each thread one panel of them, and each thread would stream all
            // of U for it (1280 channels at 16×16: 105 MB each): split the outputs' channels instead, every thread
            // transforming the whole (small) input, so that U is read once; the same arithmetic per output either way
            Parallel.forRange(rowPanels, (rp0, rp1) -> group(0, tiles, rp0, rp1, x, xOff, h, w, up, oh, ow, tw,
                    bias, act, residual, actLast, y, yOff));
            return;
        }
        int nt = groupPanels() * NR;
        if (threads > 1) nt = Math.min(nt, Math.max(NR, ceilDiv(ceilDiv(tiles, threads), NR) * NR));
        while (nt > NR && (long) a * a * nt * (cin + coutPad) > SCRATCH_FLOATS) nt -= NR;
        nt = Math.min(nt, ceilDiv(tiles, L) * L);
        final int ntf = nt;
        int groups = ceilDiv(tiles, nt);
        Parallel.forEach(groups, gi -> group(gi * ntf, Math.min(tiles, gi * ntf + ntf), 0, rowPanels, x, xOff, h, w, up, oh, ow, tw,
                bias, act, residual, actLast, y, yOff));
    }

    /**
     * GEMM panels of tiles per group: {@link #GROUP_PANELS}, or, when the transformed weights fit in
     * {@link #CACHE_BYTES} (small channel counts, e.g. TAESD's 64), as many as keep the group's V and M within it too,
     * at least one: then U, V and M all stay in L2 and each group's transforms and GEMMs never go to L3 or memory.
     */
    int groupPanels() {
        if (byteSize() > CACHE_BYTES) return GROUP_PANELS;
        long perPanel = (long) tile.alpha * tile.alpha * NR * (cin + coutPad) * Float.BYTES;
        return (int) Math.max(1, Math.min(GROUP_PANELS, CACHE_BYTES / perPanel));
    }

    /** Tiles [t0, t1) in raster order (tile row · tw + tile column), output channels of row panels [rp0, rp1). */
    private void group(int t0, int t1, int rp0, int rp1, float[] x, int xOff, int h, int w, int up, int oh, int ow, int tw,
                       float[] bias, Activation act, float[] residual, boolean actLast, float[] y, int yOff) {
        int m = tile.m, a = tile.alpha, aa = a * a;
        int nt = t1 - t0, ntp = ceilDiv(nt, NR) * NR, panels = ntp / NR;
        int ty0 = t0 / tw, ty1 = (t1 - 1) / tw;
        int rowsIn = (ty1 - ty0) * m + a;
        // the padded input columns the group needs: within one tile row only its tiles' (rounded up to whole lane
        // groups, which the row-wise deinterleave reads), else whole rows
        int cx0 = 0, pw = tw * m + 2;
        if (ty0 == ty1) {
            int txa = t0 - ty0 * tw;
            cx0 = txa * m;
            pw = Math.min(tw, txa + ceilDiv(nt, L) * L) * m + 2 - cx0;
        }
        int rowsOut = (ty1 - ty0 + 1) * m, obw = tw * m;
        // scratch: V, M, padded input rows, output rows, transform temporaries, weight micro-panel, accumulator
        int mRows = (rp1 - rp0) * MR, o0 = rp0 * MR, o1 = Math.min(cout, rp1 * MR);
        int vLen = aa * ntp * cin, mLen = aa * mRows * ntp, pLen = rowsIn * pw, oLen = rowsOut * obw;
        int pairs = Gemm.PANEL_PAIRS ? 2 : 1;   // weight panels per kernel call (see multiply)
        int tmpLen = aa * L, aLen = pairs * kcs * MR, accLen = pairs * MR * NR;
        float[] s = SCRATCH.atLeast(vLen + mLen + pLen + oLen + 2 * tmpLen + aLen + accLen);
        int vAt = 0, mAt = vLen, pAt = mAt + mLen, oAt = pAt + pLen, tAt = oAt + oLen, t2At = tAt + tmpLen, aAt = t2At + tmpLen, accAt = aAt + aLen;
        // each lane's tile: the offset of its patch in the padded rows (lanes past the group read tile t0's)
        int[] idx = index(ntp);
        for (int q = 0; q < ntp; q++) {
            int t = t0 + Math.min(q, nt - 1), ty = t / tw, tx = t - ty * tw;
            idx[q] = pAt + (ty - ty0) * m * pw + tx * m - cx0;
        }
        transformInput(t0, nt, tw, ty0, rowsIn, cx0, pw, x, xOff, h, w, up, s, idx, pAt, vAt, tAt, t2At);
        multiply(s, vAt, panels, rp0, rp1, mAt, ntp, aAt, accAt);
        transformOutput(t0, t1, nt, ntp, tw, ty0, ty1, o0, o1, mRows, mAt, oAt, obw, tAt, t2At, oh, ow,
                bias, act, residual, actLast, s, y, yOff);
    }

    /**
     * The group's V: for each input channel its padded rows ({@link #padRows}), then Bᵀ·d·B of its tiles, L at a time.
     * This and {@link #transformOutput} are methods of their own, not loops of {@link #group}: each loop of a method
     * that long was compiled on its own first (on-stack replacement), each time with all of the method inlined, several
     * times over in a first image.
     */
    private void transformInput(int t0, int nt, int tw, int ty0, int rowsIn, int cx0, int pw, float[] x, int xOff, int h, int w,
                                int up, float[] s, int[] idx, int pAt, int vAt, int tAt, int t2At) {
        int m = tile.m, panels = ceilDiv(nt, NR);
        int iy0 = ty0 * m - pad;
        for (int c = 0; c < cin; c++) {
            padRows(x, xOff + c * (h / up) * (w / up), h, w, up, iy0, rowsIn, cx0 - pad, pw, s, pAt);
            for (int q = 0; q < nt; q += L) {
                int vOff = vAt + ((q / NR) * cin + c) * NR + q % NR, vStride = panels * cin * NR;
                int t = t0 + q, ty = t / tw, tx = t - ty * tw;
                // L tiles side by side on one tile row: deinterleave their patches from the rows, else gather them
                int row = tx + L <= tw ? pAt + (ty - ty0) * m * pw + tx * m - cx0 : -1;
                if (tile == Tile.F4) inputF4(s, idx, q, row, pw, tAt, t2At, vOff, vStride);
                else inputF2(s, idx, q, row, pw, tAt, vOff, vStride);
            }
        }
    }

    /**
     * Output channels [o0, o1) of the group from its M: Aᵀ·M·A per tile, L tiles at a time, into the group's output
     * rows, then with bias, activation and residual into y.
     */
    private void transformOutput(int t0, int t1, int nt, int ntp, int tw, int ty0, int ty1, int o0, int o1, int mRows, int mAt,
                                 int oAt, int obw, int tAt, int t2At, int oh, int ow, float[] bias, Activation act,
                                 float[] residual, boolean actLast, float[] s, float[] y, int yOff) {
        int m = tile.m;
        for (int o = o0; o < o1; o++) {
            for (int q = 0; q < nt; q += L) {
                int mOff = mAt + (o - o0) * ntp + q, mStride = mRows * ntp;
                if (tile == Tile.F4) outputF4(s, mOff, mStride, tAt, t2At);
                else outputF2(s, mOff, mStride, tAt, t2At);
                // each lane's m×m outputs into the output rows: interleaved a row at a time when the L tiles sit side
                // by side on one tile row, else one by one
                int t = t0 + q, ty = t / tw, tx = t - ty * tw;
                if (tx + L <= tw) {
                    interleave(s, t2At, m, oAt + (ty - ty0) * m * obw + tx * m, obw);
                    continue;
                }
                int lanes = Math.min(L, nt - q);
                for (int j = 0; j < lanes; j++) {
                    int tj = t + j, tyj = tj / tw, txj = tj - tyj * tw;
                    int base = oAt + (tyj - ty0) * m * obw + txj * m;
                    for (int dy = 0, e = t2At + j; dy < m; dy++) {
                        for (int dx = 0; dx < m; dx++, e += L) s[base + dy * obw + dx] = s[e];
                    }
                }
            }
            // copy the group's outputs of this channel into y with bias, activation and residual
            float b = bias == null ? 0f : bias[o];
            for (int ty = ty0; ty <= ty1; ty++) {
                int txa = ty == ty0 ? t0 - ty0 * tw : 0, txb = ty == ty1 ? t1 - ty1 * tw : tw;
                int x0 = txa * m, x1 = Math.min(ow, txb * m);
                for (int dy = 0; dy < m; dy++) {
                    int oy = ty * m + dy;
                    if (oy >= oh) break;
                    int src = oAt + ((ty - ty0) * m + dy) * obw, dst = yOff + (o * oh + oy) * ow;
                    epilogue(s, src, x0, x1, b, act, residual, actLast, y, dst);
                }
            }
        }
    }

    /**
     * s[pAt + r·pw + j] = image row (iy0 + r), column (ix0 + j), zero outside the h × w image, for j &lt; pw; the image
     * is the plane at x[plane] ((h/up) × (w/up)) upsampled {@code up}× nearest: pixel (iy, ix) = plane (iy/up, ix/up).
     */
    private static void padRows(float[] x, int plane, int h, int w, int up, int iy0, int rows, int ix0, int pw, float[] s, int pAt) {
        int j0 = Math.max(0, -ix0), j1 = Math.max(j0, Math.min(pw, w - ix0));   // columns inside the image
        int sw = w / up;
        for (int r = 0; r < rows; r++) {
            int iy = iy0 + r, d = pAt + r * pw;
            if (iy < 0 || iy >= h) {
                java.util.Arrays.fill(s, d, d + pw, 0f);
                continue;
            }
            for (int j = 0; j < j0; j++) s[d + j] = 0f;
            if (up == 1) {
                System.arraycopy(x, plane + iy * w + ix0 + j0, s, d + j0, j1 - j0);
            } else if (up == 2) {
                // each source pixel twice; a shift, not a division per pixel (ix0 + j >= 0 inside the image)
                int src = plane + (iy >> 1) * sw;
                int j = j0;
                if (((ix0 + j) & 1) != 0 && j < j1) { s[d + j] = x[src + ((ix0 + j) >> 1)]; j++; }
                int sx = src + ((ix0 + j) >> 1);
                // L source pixels at a time: each vector zipped with itself gives the 2L outputs
                FloatVector lo = FloatVector.fromArray(S, ZIP_LO, 0), hi = FloatVector.fromArray(S, ZIP_HI, 0);
                for (; j + 2 * L <= j1; j += 2 * L, sx += L) {
                    FloatVector v = FloatVector.fromArray(S, x, sx);
                    lo.selectFrom(v, v).intoArray(s, d + j);
                    hi.selectFrom(v, v).intoArray(s, d + j + L);
                }
                for (; j + 1 < j1; j += 2, sx++) {
                    float v = x[sx];
                    s[d + j] = v;
                    s[d + j + 1] = v;
                }
                if (j < j1) s[d + j] = x[src + ((ix0 + j) >> 1)];
            } else {
                int src = plane + (iy / up) * sw;
                for (int j = j0; j < j1; j++) s[d + j] = x[src + (ix0 + j) / up];
            }
            for (int j = j1; j < pw; j++) s[d + j] = 0f;
        }
    }

    /**
     * Bᵀ·d·B for the L tiles from lane q (m = 4): d[r][u] = s[idx[q + lane] + r·pw + u], or, when {@code row} ≥ 0
     * (the tiles side by side on one tile row), s[row + r·pw + 4·lane + u]; result element (i, j) stored at
     * s[vOff + (i·6 + j)·vStride]. Rows first (into the temporaries at tAt), then columns.
     */
    private static void inputF4(float[] s, int[] idx, int q, int row, int pw, int tAt, int dAt, int vOff, int vStride) {
        for (int r = 0; r < 6; r++) {
            int o = r * pw;
            if (row >= 0) {
                // every 4th pixel from phase u: two rounds of even/odd splits of 4L consecutive pixels; phases 4 and
                // 5 are phases 0 and 1 one tile on
                int b = row + o;
                FloatVector ev = FloatVector.fromArray(S, EVEN, 0), od = FloatVector.fromArray(S, ODD, 0);
                FloatVector v0 = FloatVector.fromArray(S, s, b), v1 = FloatVector.fromArray(S, s, b + L);
                FloatVector v2 = FloatVector.fromArray(S, s, b + 2 * L), v3 = FloatVector.fromArray(S, s, b + 3 * L);
                FloatVector e01 = ev.selectFrom(v0, v1), o01 = od.selectFrom(v0, v1);
                FloatVector e23 = ev.selectFrom(v2, v3), o23 = od.selectFrom(v2, v3);
                FloatVector d0 = ev.selectFrom(e01, e23), d1 = ev.selectFrom(o01, o23);
                FloatVector d2 = od.selectFrom(e01, e23), d3 = od.selectFrom(o01, o23);
                FloatVector d4 = d0.slice(1, FloatVector.broadcast(S, s[b + 4 * L]));
                FloatVector d5 = d1.slice(1, FloatVector.broadcast(S, s[b + 4 * L + 1]));
                // Bᵀ·d as in bt4, written out here so that the vectors stay in registers
                int out = tAt + r * 6 * L;
                FloatVector a = d3.add(d4), bb = d1.add(d2), c = d4.sub(d3), e = d1.sub(d2), f = d4.sub(d2), g = d3.sub(d1);
                d0.mul(4f).add(d4).sub(d2.mul(5f)).intoArray(s, out);
                a.sub(bb.mul(4f)).intoArray(s, out + L);
                c.add(e.mul(4f)).intoArray(s, out + 2 * L);
                f.add(g.mul(2f)).intoArray(s, out + 3 * L);
                f.sub(g.mul(2f)).intoArray(s, out + 4 * L);
                d1.mul(4f).add(d5).sub(d3.mul(5f)).intoArray(s, out + 5 * L);
            } else {
                for (int u = 0; u < 6; u++) FloatVector.fromArray(S, s, o + u, idx, q).intoArray(s, dAt + u * L);
                bt4(s, dAt, L, tAt + r * 6 * L, L);
            }
        }
        for (int j = 0; j < 6; j++) bt4(s, tAt + j * L, 6 * L, vOff + j * vStride, 6 * vStride);
    }

    /**
     * Bᵀ·d for one column of six vectors (m = 4): element u read at s[in + u·inStep], element i stored at
     * s[out + i·outStep] (vectors stay inside the method: passed as arguments they could end up boxed).
     */
    private static void bt4(float[] s, int in, int inStep, int out, int outStep) {
        FloatVector d0 = FloatVector.fromArray(S, s, in), d1 = FloatVector.fromArray(S, s, in + inStep);
        FloatVector d2 = FloatVector.fromArray(S, s, in + 2 * inStep), d3 = FloatVector.fromArray(S, s, in + 3 * inStep);
        FloatVector d4 = FloatVector.fromArray(S, s, in + 4 * inStep), d5 = FloatVector.fromArray(S, s, in + 5 * inStep);
        FloatVector a = d3.add(d4), b = d1.add(d2), c = d4.sub(d3), e = d1.sub(d2), f = d4.sub(d2), g = d3.sub(d1);
        d0.mul(4f).add(d4).sub(d2.mul(5f)).intoArray(s, out);
        a.sub(b.mul(4f)).intoArray(s, out + outStep);
        c.add(e.mul(4f)).intoArray(s, out + 2 * outStep);
        f.add(g.mul(2f)).intoArray(s, out + 3 * outStep);
        f.sub(g.mul(2f)).intoArray(s, out + 4 * outStep);
        d1.mul(4f).add(d5).sub(d3.mul(5f)).intoArray(s, out + 5 * outStep);
    }

    /** Bᵀ·d·B for m = 2 (see {@link #inputF4}). */
    private static void inputF2(float[] s, int[] idx, int q, int row, int pw, int tAt, int vOff, int vStride) {
        for (int r = 0; r < 4; r++) {
            int o = r * pw, t = tAt + r * 4 * L;
            FloatVector d0, d1, d2, d3;
            if (row >= 0) {
                int b = row + o;
                FloatVector v0 = FloatVector.fromArray(S, s, b), v1 = FloatVector.fromArray(S, s, b + L);
                d0 = FloatVector.fromArray(S, EVEN, 0).selectFrom(v0, v1);
                d1 = FloatVector.fromArray(S, ODD, 0).selectFrom(v0, v1);
                d2 = d0.slice(1, FloatVector.broadcast(S, s[b + 2 * L]));
                d3 = d1.slice(1, FloatVector.broadcast(S, s[b + 2 * L + 1]));
            } else {
                d0 = FloatVector.fromArray(S, s, o, idx, q);
                d1 = FloatVector.fromArray(S, s, o + 1, idx, q);
                d2 = FloatVector.fromArray(S, s, o + 2, idx, q);
                d3 = FloatVector.fromArray(S, s, o + 3, idx, q);
            }
            d0.sub(d2).intoArray(s, t);
            d1.add(d2).intoArray(s, t + L);
            d2.sub(d1).intoArray(s, t + 2 * L);
            d1.sub(d3).intoArray(s, t + 3 * L);
        }
        for (int j = 0; j < 4; j++) {
            int t = tAt + j * L, v = vOff + j * vStride, step = 4 * vStride;
            FloatVector d0 = FloatVector.fromArray(S, s, t), d1 = FloatVector.fromArray(S, s, t + 4 * L);
            FloatVector d2 = FloatVector.fromArray(S, s, t + 8 * L), d3 = FloatVector.fromArray(S, s, t + 12 * L);
            d0.sub(d2).intoArray(s, v);
            d1.add(d2).intoArray(s, v + step);
            d2.sub(d1).intoArray(s, v + 2 * step);
            d1.sub(d3).intoArray(s, v + 3 * step);
        }
    }

    /**
     * Aᵀ·M·A for L tiles (m = 4): M element (i, j) at s[mOff + (i·6 + j)·mStride]; output (dy, dx) of a lane stored
     * at s[oAt + (dy·4 + dx)·L + lane]. Columns first (into tAt), then rows.
     */
    private static void outputF4(float[] s, int mOff, int mStride, int tAt, int oAt) {
        for (int j = 0; j < 6; j++) at4(s, mOff + j * mStride, 6 * mStride, tAt + j * L, 6 * L);
        for (int i = 0; i < 4; i++) at4(s, tAt + i * 6 * L, L, oAt + i * 4 * L, L);
    }

    /** Aᵀ·m for one column of six vectors (m = 4), element u read at s[in + u·inStep], element i stored at s[out + i·outStep]. */
    private static void at4(float[] s, int in, int inStep, int out, int outStep) {
        FloatVector m0 = FloatVector.fromArray(S, s, in), m1 = FloatVector.fromArray(S, s, in + inStep);
        FloatVector m2 = FloatVector.fromArray(S, s, in + 2 * inStep), m3 = FloatVector.fromArray(S, s, in + 3 * inStep);
        FloatVector m4 = FloatVector.fromArray(S, s, in + 4 * inStep), m5 = FloatVector.fromArray(S, s, in + 5 * inStep);
        FloatVector p = m1.add(m2), d = m1.sub(m2), p2 = m3.add(m4), d2 = m3.sub(m4);
        m0.add(p).add(p2).intoArray(s, out);
        d.add(d2.mul(2f)).intoArray(s, out + outStep);
        p.add(p2.mul(4f)).intoArray(s, out + 2 * outStep);
        d.add(d2.mul(8f)).add(m5).intoArray(s, out + 3 * outStep);
    }

    /** Aᵀ·M·A for m = 2 (see {@link #outputF4}). */
    private static void outputF2(float[] s, int mOff, int mStride, int tAt, int oAt) {
        for (int j = 0; j < 4; j++) {
            int at = mOff + j * mStride, st = 4 * mStride;
            FloatVector m0 = FloatVector.fromArray(S, s, at), m1 = FloatVector.fromArray(S, s, at + st);
            FloatVector m2 = FloatVector.fromArray(S, s, at + 2 * st), m3 = FloatVector.fromArray(S, s, at + 3 * st);
            m0.add(m1).add(m2).intoArray(s, tAt + j * L);
            m1.sub(m2).sub(m3).intoArray(s, tAt + (4 + j) * L);
        }
        for (int i = 0; i < 2; i++) {
            int at = tAt + i * 4 * L;
            FloatVector m0 = FloatVector.fromArray(S, s, at), m1 = FloatVector.fromArray(S, s, at + L);
            FloatVector m2 = FloatVector.fromArray(S, s, at + 2 * L), m3 = FloatVector.fromArray(S, s, at + 3 * L);
            m0.add(m1).add(m2).intoArray(s, oAt + i * 2 * L);
            m1.sub(m2).sub(m3).intoArray(s, oAt + (i * 2 + 1) * L);
        }
    }

    /**
     * Writes the m×m outputs of L tiles side by side (output (dy, dx) of a lane at s[oAt + (dy·m + dx)·L + lane])
     * into m rows of m·L pixels from s[dst], row pitch {@code pitch}, zipping the m vectors of a row lane by lane.
     */
    private static void interleave(float[] s, int oAt, int m, int dst, int pitch) {
        FloatVector lo = FloatVector.fromArray(S, ZIP_LO, 0), hi = FloatVector.fromArray(S, ZIP_HI, 0);
        for (int dy = 0; dy < m; dy++) {
            int o = oAt + dy * m * L, d = dst + dy * pitch;
            if (m == 4) {
                FloatVector o0 = FloatVector.fromArray(S, s, o), o1 = FloatVector.fromArray(S, s, o + L);
                FloatVector o2 = FloatVector.fromArray(S, s, o + 2 * L), o3 = FloatVector.fromArray(S, s, o + 3 * L);
                FloatVector aLo = lo.selectFrom(o0, o2), aHi = hi.selectFrom(o0, o2);
                FloatVector bLo = lo.selectFrom(o1, o3), bHi = hi.selectFrom(o1, o3);
                lo.selectFrom(aLo, bLo).intoArray(s, d);
                hi.selectFrom(aLo, bLo).intoArray(s, d + L);
                lo.selectFrom(aHi, bHi).intoArray(s, d + 2 * L);
                hi.selectFrom(aHi, bHi).intoArray(s, d + 3 * L);
            } else {
                FloatVector o0 = FloatVector.fromArray(S, s, o), o1 = FloatVector.fromArray(S, s, o + L);
                lo.selectFrom(o0, o1).intoArray(s, d);
                hi.selectFrom(o0, o1).intoArray(s, d + L);
            }
        }
    }

    /**
     * The α² GEMMs of a group for the outputs of row panels [rp0, rp1): M[ξν][o − rp0·MR][q] = Σ_c U[ξν][o][c]·V[ξν][c][q],
     * K in fixed slices of {@link #kcs}; each weight micro-panel is copied to the heap once and serves all the group's
     * panels.
     */
    private void multiply(float[] s, int vAt, int panels, int rp0, int rp1, int mAt, int ntp, int aAt, int accAt) {
        int mRows = (rp1 - rp0) * MR;
        int aa = tile.alpha * tile.alpha;
        for (int xi = 0; xi < aa; xi++) {
            for (int k0 = 0; k0 < cin; k0 += kcs) {
                int kc = Math.min(kcs, cin - k0);
                boolean first = k0 == 0;
                for (int rp = rp0; rp < rp1; ) {
                    // with 32 registers two weight panels at a time (the 12-row kernel), a last odd one alone
                    boolean pair = Gemm.PANEL_PAIRS && rp + 1 < rp1;
                    float[] w = uHeap == null ? s : uHeap;
                    int wAt = uHeap == null ? aAt : (int) ((rp * panelBytes() + uOffset(xi, k0)) / uType.bytes());
                    int wAt2 = uHeap == null ? aAt + kc * MR : (int) (((rp + 1) * panelBytes() + uOffset(xi, k0)) / uType.bytes());
                    if (uHeap == null) {
                        widen(u[rp], uOffset(xi, k0), s, aAt, kc * MR);
                        if (pair) widen(u[rp + 1], uOffset(xi, k0), s, wAt2, kc * MR);
                    }
                    int rows = pair ? 2 * MR : MR;
                    for (int p = 0; p < panels; p++) {
                        int bo = vAt + ((xi * panels + p) * cin + k0) * NR;
                        int co = mAt + (xi * mRows + (rp - rp0) * MR) * ntp + p * NR;
                        int out = first ? co : accAt, ldo = first ? ntp : NR;
                        if (pair) GemmKernel.twoPanelsTimesTile(w, wAt, wAt2, s, bo, kc, s, out, ldo);
                        else GemmKernel.panelTimesTile(w, wAt, s, bo, kc, s, out, ldo);
                        if (!first) GemmKernel.storeTile(s, accAt, NR, s, co, ntp, rows, NR, false);
                    }
                    rp += pair ? 2 : 1;
                }
            }
        }
    }

    /** y[dst + i] = act(s[src + i] + b) + residual[dst + i] for i in [x0, x1). */
    private static void epilogue(float[] s, int src, int x0, int x1, float b, Activation act, float[] residual, boolean actLast,
                                 float[] y, int dst) {
        if (actLast && residual != null) {
            epilogueActLast(s, src, x0, x1, b, act, residual, y, dst);
            return;
        }
        int i = x0;
        if (act == Activation.RELU || act == Activation.NONE) {
            // the convolutions' own activations written out, not through GemmEpilogue.activate: with its whole switch
            // inlined here the JIT sometimes left this loop's vectors boxed (slow forks of a TAESD decode, JFR)
            boolean relu = act == Activation.RELU;
            for (; i <= x1 - L; i += L) {
                FloatVector v = FloatVector.fromArray(S, s, src + i).add(b);
                if (relu) v = v.max(0f);
                if (residual != null) v = v.add(FloatVector.fromArray(S, residual, dst + i));
                v.intoArray(y, dst + i);
            }
        }
        for (; i <= x1 - L; i += L) {
            FloatVector v = GemmEpilogue.activate(act, FloatVector.fromArray(S, s, src + i).add(b));
            if (residual != null) v = v.add(FloatVector.fromArray(S, residual, dst + i));
            v.intoArray(y, dst + i);
        }
        if (i < x1) {
            VectorMask<Float> mask = S.indexInRange(i, x1);
            FloatVector v = GemmEpilogue.activate(act, FloatVector.fromArray(S, s, src + i, mask).add(b));
            if (residual != null) v = v.add(FloatVector.fromArray(S, residual, dst + i, mask));
            v.intoArray(y, dst + i, mask);
        }
    }

    /** y[dst + i] = act(s[src + i] + b + residual[dst + i]) for i in [x0, x1). */
    private static void epilogueActLast(float[] s, int src, int x0, int x1, float b, Activation act, float[] residual, float[] y, int dst) {
        int i = x0;
        if (act == Activation.RELU) {
            for (; i <= x1 - L; i += L) {
                FloatVector.fromArray(S, s, src + i).add(b).add(FloatVector.fromArray(S, residual, dst + i)).max(0f).intoArray(y, dst + i);
            }
        }
        for (; i <= x1 - L; i += L) {
            FloatVector v = FloatVector.fromArray(S, s, src + i).add(b).add(FloatVector.fromArray(S, residual, dst + i));
            GemmEpilogue.activate(act, v).intoArray(y, dst + i);
        }
        if (i < x1) {
            VectorMask<Float> mask = S.indexInRange(i, x1);
            FloatVector v = FloatVector.fromArray(S, s, src + i, mask).add(b).add(FloatVector.fromArray(S, residual, dst + i, mask));
            GemmEpilogue.activate(act, v).intoArray(y, dst + i, mask);
        }
    }

    private static int[] index(int n) {
        int[] s = INDEX.get();
        if (s == null || s.length < n) {
            s = new int[n];
            INDEX.set(s);
        }
        return s;
    }
}
