package io.sdj.ops;

import io.sdj.core.DType;
import io.sdj.core.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.IntUnaryOperator;

import static io.sdj.ops.GemmKernel.MR;
import static io.sdj.ops.GemmKernel.NR;

/**
 * A constant GEMM operand (a weight) packed once, off-heap, into the micro-kernel's panel layout.
 * <ul>
 * <li>{@link Layout#COLUMN_PANELS}: the vector operand B [K, N] cut into panels of {@link GemmKernel#NR} columns,
 *     each stored {@code [K][NR]} (last panel zero-padded);</li>
 * <li>{@link Layout#ROW_PANELS}: the broadcast operand A [M, K] cut into panels of {@link GemmKernel#MR} rows, each
 *     stored {@code [K][MR]} (last panel zero-padded).</li>
 * </ul>
 * Element type ({@link #storage}): float32, or — for a weight stored as F16 or BF16 — the same 16-bit values, half the
 * memory, which {@link Gemm} widens exactly ({@link HalfFloats}) per micro-panel into float32 scratch just before the
 * kernels read it, so the result is bit-identical to packing the widened values. {@code -Dsdj.weights.packed=auto}
 * (the default) keeps 16-bit weights 16-bit; {@code f32} widens everything at packing (the old layout). I8 is always
 * dequantised to float32 with its per-channel scale, and F32 weights are never rounded to 16 bits here (that changes
 * the numerics: {@code sdj convert --dtype f16|bf16} does it visibly, once, in the file).
 * <p>The memory belongs to an automatic arena: it is freed when the matrix becomes unreachable. Off-heap storage keeps a
 * whole UNet's weights outside the Java heap.
 */
public final class PackedMatrix {
    /** How the panels run. */
    public enum Layout { COLUMN_PANELS, ROW_PANELS }

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    private static final ValueLayout.OfShort S16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** {@code -Dsdj.weights.packed}: auto (keep F16/BF16 weights in 16 bits) or f32. */
    static final boolean KEEP_HALF = parseKeepHalf(System.getProperty("sdj.weights.packed"));

    private final Layout layout;
    private final int rows, cols;
    private final DType storage;
    private final MemorySegment data;

    private PackedMatrix(Layout layout, int rows, int cols) {
        this(layout, rows, cols, DType.F32, null);
    }

    /** Over {@code storage} (its first {@link #floats} elements) when given, else over newly allocated memory. */
    private PackedMatrix(Layout layout, int rows, int cols, DType type, MemorySegment storage) {
        if (rows < 1 || cols < 1) throw new IllegalArgumentException("packed matrix must be non-empty, got " + rows + "×" + cols);
        if (type != DType.F32 && !HalfFloats.isHalf(type)) throw new IllegalArgumentException("packed matrix of " + type);
        this.layout = layout;
        this.rows = rows;
        this.cols = cols;
        this.storage = type;
        if (type != DType.F32) HalfFloats.warmUpInBackground();
        long bytes = floats(layout, rows, cols) * type.bytes();
        this.data = storage == null ? Arena.ofAuto().allocate(bytes, 64) : storage.asSlice(0, bytes);
    }

    static boolean parseKeepHalf(String p) {
        if (p == null || p.isBlank()) return true;
        return switch (p.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> true;
            case "f32" -> false;
            default -> throw new IllegalArgumentException("-Dsdj.weights.packed must be auto or f32, got '" + p + "'");
        };
    }

    /** The element type a weight of dtype {@code t} is packed as: F16/BF16 kept (unless -Dsdj.weights.packed=f32), else F32. */
    public static DType packedType(DType t) { return KEEP_HALF && HalfFloats.isHalf(t) ? t : DType.F32; }

    /** Elements a {@code rows × cols} matrix of this layout occupies (panels padded to whole tiles). */
    static long floats(Layout layout, int rows, int cols) {
        return layout == Layout.COLUMN_PANELS ? (long) ceilDiv(cols, NR) * NR * rows : (long) ceilDiv(rows, MR) * MR * cols;
    }

    public Layout layout() { return layout; }
    /** K for column panels, M for row panels. */
    public int rows() { return rows; }
    /** N for column panels, K for row panels. */
    public int cols() { return cols; }
    /** F32, F16 or BF16. */
    public DType storage() { return storage; }
    /** Whether the elements are 16-bit floats, to be widened before the kernels read them. */
    boolean isHalf() { return storage != DType.F32; }
    MemorySegment segment() { return data; }
    public long byteSize() { return data.byteSize(); }

    /** Byte offset of element (k = {@code r}, panel of column {@code c}) for column panels. */
    long columnPanelOffset(int panel, int k) { return ((long) panel * rows + k) * NR * storage.bytes(); }

    /** Byte offset of (panel of row, k) for row panels. */
    long rowPanelOffset(int panel, int k) { return ((long) panel * cols + k) * MR * storage.bytes(); }

    /**
     * Column panel {@code panel}'s K slice [k0, k0 + kc) as float32 ({@code kc·NR} floats, as stored) at byte
     * {@code dstOff} of {@code dst}: widened when 16-bit, copied when float32.
     */
    void widenColumnPanel(int panel, int k0, int kc, MemorySegment dst, long dstOff) {
        if (isHalf()) HalfFloats.widen(storage, data, columnPanelOffset(panel, k0), dst, dstOff, kc * NR);
        else MemorySegment.copy(data, columnPanelOffset(panel, k0), dst, dstOff, (long) kc * NR * Float.BYTES);
    }

    /** Row panel {@code panel}'s K slice [k0, k0 + kc) as float32 ({@code kc·MR} floats, as stored) into {@code dst[off ..]}. */
    void copyRowPanel(int panel, int k0, int kc, float[] dst, int off) {
        if (isHalf()) HalfFloats.widen(storage, data, rowPanelOffset(panel, k0), dst, off, kc * MR);
        else MemorySegment.copy(data, F, rowPanelOffset(panel, k0), dst, off, kc * MR);
    }

    /**
     * B = Wᵀ as column panels, W [N, K…] a weight whose first dimension is N (a Linear weight [out, in]); 16-bit when W
     * is F16/BF16 ({@link #packedType}).
     */
    public static PackedMatrix transposedColumnPanels(WeightTensor w) {
        int n = w.dim(0);
        return transposedColumnPanels(w, n, IntUnaryOperator.identity());
    }

    /**
     * B [K, n] with column j = row {@code sourceRow(j)} of W [rows, K…] (a zero column where it gives −1): the columns
     * of W in another order, as a {@link GatedLinear} interleaves its value and gate rows; 16-bit when W is F16/BF16.
     */
    static PackedMatrix transposedColumnPanels(WeightTensor w, int n, IntUnaryOperator sourceRow) {
        int k = Math.toIntExact(w.numel() / w.dim(0));
        PackedMatrix p = new PackedMatrix(Layout.COLUMN_PANELS, k, n, packedType(w.dtype()), null);
        p.putRows(w, n, NR, sourceRows(n, sourceRow));
        return p;
    }

    /**
     * A as row panels, W [M, K…] a weight whose first dimension is M (a Conv2d weight [out, in, k, k]); 16-bit when W
     * is F16/BF16 ({@link #packedType}).
     */
    public static PackedMatrix rowPanels(WeightTensor w) {
        int m = w.dim(0);
        int k = Math.toIntExact(w.numel() / m);
        PackedMatrix p = new PackedMatrix(Layout.ROW_PANELS, m, k, packedType(w.dtype()), null);
        p.putRows(w, m, MR, sourceRows(m, IntUnaryOperator.identity()));
        return p;
    }

    /**
     * {@code sourceRow(r)} for r &lt; count, resolved once: the packing loops then read an array instead of calling
     * through the interface, whose second implementation (a {@link GatedLinear}'s order after the identity) made C2
     * throw away and recompile {@link #putRows} (class-check traps seen in JFR, 2026-12-07).
     */
    private static int[] sourceRows(int count, IntUnaryOperator sourceRow) {
        int[] rows = new int[count];
        for (int r = 0; r < count; r++) rows[r] = sourceRow.applyAsInt(r);
        return rows;
    }

    /**
     * Packed row r &lt; {@code count} (a column of B, or a row of A) is row {@code sourceRows[r]} of w (viewed as [dim0,
     * rest]; −1: zeros), in lane r % lanes of its panel, one element per k: a panel's rows are interleaved in a heap
     * array, then copied in one piece. (Setting each element of the off-heap panel on its own was the largest item of
     * loading a model, and one of its largest compilations.)
     */
    private void putRows(WeightTensor w, int count, int lanes, int[] sourceRows) {
        int len = Math.toIntExact(w.numel() / w.dim(0));
        boolean half = isHalf();
        float[] row = half ? null : new float[len], panel = half ? null : new float[len * lanes];
        short[] bits = HalfFloats.isHalf(w.dtype()) ? new short[len] : null, panel16 = half ? new short[len * lanes] : null;
        for (int p = 0, r0 = 0; r0 < count; p++, r0 += lanes) {
            long at = layout == Layout.COLUMN_PANELS ? columnPanelOffset(p, 0) : rowPanelOffset(p, 0);
            if (half) {
                for (int t = 0; t < lanes; t++) {
                    int src = r0 + t < count ? sourceRows[r0 + t] : -1;
                    if (src < 0) java.util.Arrays.fill(bits, (short) 0);
                    else readRowBits(w, src, bits);
                    for (int kk = 0, o = t; kk < len; kk++, o += lanes) panel16[o] = bits[kk];
                }
                MemorySegment.copy(panel16, 0, data, S16, at, panel16.length);
            } else {
                readRowPanel(w, Math.min(lanes, count - r0), lanes, sourceRows, r0, panel, row, bits);
                MemorySegment.copy(panel, 0, data, F, at, panel.length);
            }
        }
    }

    /**
     * Rows [panel·lanes, panel·lanes + lanes) of w (viewed as [dim0, rest], rest = {@code row.length}) widened to float
     * as a panel packs them: {@code dst[k·lanes + r]} = element k of the panel's row r, 0 for rows past dim0.
     * {@code row} and {@code bits} are the caller's staging buffers ({@link #readRow}).
     */
    static void readRowPanel(WeightTensor w, int panel, int lanes, float[] dst, float[] row, short[] bits) {
        int r0 = panel * lanes;
        int present = Math.max(0, Math.min(lanes, w.dim(0) - r0));
        int[] rows = new int[present];
        for (int t = 0; t < present; t++) rows[t] = r0 + t;
        readRowPanel(w, present, lanes, rows, 0, dst, row, bits);
    }

    /**
     * A panel of {@code present} packed rows, row t being w's row {@code sourceRows[at + t]} (−1: zeros), interleaved
     * into {@code dst[k·lanes + t]}; lanes from {@code present} on are zero.
     */
    private static void readRowPanel(WeightTensor w, int present, int lanes, int[] sourceRows, int at,
                                     float[] dst, float[] row, short[] bits) {
        int len = row.length;
        if (present < lanes) java.util.Arrays.fill(dst, 0, len * lanes, 0f);
        for (int t = 0; t < present; t++) {
            int src = sourceRows[at + t];
            if (src < 0) {
                for (int kk = 0, o = t; kk < len; kk++, o += lanes) dst[o] = 0f;
                continue;
            }
            readRow(w, src, row, bits);
            for (int kk = 0, o = t; kk < len; kk++, o += lanes) dst[o] = row[kk];
        }
    }

    /** B [K, N] given row-major (b[k·N + n]) as column panels. */
    public static PackedMatrix columnPanels(float[] b, int k, int n) {
        if ((long) k * n > b.length) throw new IllegalArgumentException("B of " + k + "×" + n + " needs " + (long) k * n + " floats, got " + b.length);
        PackedMatrix p = new PackedMatrix(Layout.COLUMN_PANELS, k, n);
        for (int kk = 0; kk < k; kk++) {
            for (int j = 0; j < n; j++) p.data.set(F, p.columnPanelOffset(j / NR, kk) + (long) (j % NR) * Float.BYTES, b[kk * n + j]);
        }
        return p;
    }

    /**
     * A K × N column-panel matrix over reused {@code storage} (at least {@link #floats} floats; contents as left there),
     * for the caller to fill through {@link #segment}: a per-thread scratch operand that allocates nothing.
     */
    static PackedMatrix columnPanels(MemorySegment storage, int k, int n) { return new PackedMatrix(Layout.COLUMN_PANELS, k, n, DType.F32, storage); }

    /** A [M, K] given row-major (a[m·K + k]) as row panels. */
    public static PackedMatrix rowPanels(float[] a, int m, int k) {
        if ((long) m * k > a.length) throw new IllegalArgumentException("A of " + m + "×" + k + " needs " + (long) m * k + " floats, got " + a.length);
        PackedMatrix p = new PackedMatrix(Layout.ROW_PANELS, m, k);
        for (int i = 0; i < m; i++) {
            for (int kk = 0; kk < k; kk++) p.data.set(F, p.rowPanelOffset(i / MR, kk) + (long) (i % MR) * Float.BYTES, a[i * k + kk]);
        }
        return p;
    }

    /**
     * Row {@code r} of a weight viewed as [dim0, rest], widened to float (I8 dequantised with scale[r]); a 16-bit row
     * is staged in {@code bits} (at least {@code dst.length} long; unused for other types).
     */
    static void readRow(WeightTensor w, int r, float[] dst, short[] bits) {
        int len = dst.length;
        long start = (long) r * len;
        MemorySegment seg = w.data();
        DType t = w.dtype();
        switch (t) {
            case F32 -> MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), start * 4, dst, 0, len);
            case F16, BF16 -> {
                // the raw bits in one bulk copy, then widened by a scalar loop: the vector widening (HalfFloats) must
                // not see heap or mapped segments in its type profiles, and a per-element read of a mapped segment
                // was a third of a first image's Winograd transforms (its accessor was not inlined)
                MemorySegment.copy(seg, S16, start * 2, bits, 0, len);
                for (int i = 0; i < len; i++) dst[i] = t == DType.F16 ? Float.float16ToFloat(bits[i]) : DType.bf16ToFloat(bits[i]);
            }
            case I8 -> {
                float scale = w.scales()[r];
                for (int i = 0; i < len; i++) dst[i] = seg.get(ValueLayout.JAVA_BYTE, start + i) * scale;
            }
        }
    }

    /** Row {@code r} of a F16/BF16 weight viewed as [dim0, rest]: its raw 16-bit values. */
    static void readRowBits(WeightTensor w, int r, short[] dst) {
        if (!HalfFloats.isHalf(w.dtype())) throw new IllegalArgumentException("weight '" + w.name() + "' is " + w.dtype() + ", not 16-bit");
        MemorySegment.copy(w.data(), S16, (long) r * dst.length * 2, dst, 0, dst.length);
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    @Override
    public String toString() { return "PackedMatrix " + layout + " " + rows + "×" + cols + (isHalf() ? " " + storage : ""); }
}
