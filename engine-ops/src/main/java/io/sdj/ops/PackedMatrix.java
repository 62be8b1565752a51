package io.sdj.ops;

import io.sdj.core.DType;
import io.sdj.core.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static io.sdj.ops.GemmKernel.MR;
import static io.sdj.ops.GemmKernel.NR;

/**
 * A constant GEMM operand (a weight) packed once, off-heap, into the micro-kernel's panel layout, widened to float32
 * (F16/BF16 converted, I8 dequantised with its per-channel scale).
 * <ul>
 * <li>{@link Layout#COLUMN_PANELS}: the vector operand B [K, N] cut into panels of {@link GemmKernel#NR} columns,
 *     each stored {@code [K][NR]} (last panel zero-padded);</li>
 * <li>{@link Layout#ROW_PANELS}: the broadcast operand A [M, K] cut into panels of {@link GemmKernel#MR} rows, each
 *     stored {@code [K][MR]} (last panel zero-padded).</li>
 * </ul>
 * The memory belongs to an automatic arena: it is freed when the matrix becomes unreachable. Off-heap storage keeps a
 * whole UNet's weights outside the Java heap.
 */
public final class PackedMatrix {
    /** How the panels run. */
    public enum Layout { COLUMN_PANELS, ROW_PANELS }

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    private final Layout layout;
    private final int rows, cols;
    private final MemorySegment data;

    private PackedMatrix(Layout layout, int rows, int cols) {
        this(layout, rows, cols, null);
    }

    /** Over {@code storage} (its first {@link #floats} floats) when given, else over newly allocated memory. */
    private PackedMatrix(Layout layout, int rows, int cols, MemorySegment storage) {
        if (rows < 1 || cols < 1) throw new IllegalArgumentException("packed matrix must be non-empty, got " + rows + "×" + cols);
        this.layout = layout;
        this.rows = rows;
        this.cols = cols;
        long bytes = floats(layout, rows, cols) * Float.BYTES;
        this.data = storage == null ? Arena.ofAuto().allocate(bytes, 64) : storage.asSlice(0, bytes);
    }

    /** Floats a {@code rows × cols} matrix of this layout occupies (panels padded to whole tiles). */
    static long floats(Layout layout, int rows, int cols) {
        return layout == Layout.COLUMN_PANELS ? (long) ceilDiv(cols, NR) * NR * rows : (long) ceilDiv(rows, MR) * MR * cols;
    }

    public Layout layout() { return layout; }
    /** K for column panels, M for row panels. */
    public int rows() { return rows; }
    /** N for column panels, K for row panels. */
    public int cols() { return cols; }
    MemorySegment segment() { return data; }
    public long byteSize() { return data.byteSize(); }

    /** Byte offset of element (k = {@code r}, panel of column {@code c}) for column panels. */
    long columnPanelOffset(int panel, int k) { return ((long) panel * rows + k) * NR * Float.BYTES; }

    /** Byte offset of (panel of row, k) for row panels. */
    long rowPanelOffset(int panel, int k) { return ((long) panel * cols + k) * MR * Float.BYTES; }

    /** B = Wᵀ as column panels, W [N, K…] a weight whose first dimension is N (a Linear weight [out, in]). */
    public static PackedMatrix transposedColumnPanels(WeightTensor w) {
        int n = w.dim(0);
        int k = Math.toIntExact(w.numel() / n);
        PackedMatrix p = new PackedMatrix(Layout.COLUMN_PANELS, k, n);
        float[] row = new float[k];
        for (int j = 0; j < n; j++) {
            readRow(w, j, row);
            long base = p.columnPanelOffset(j / NR, 0) + (long) (j % NR) * Float.BYTES;
            for (int kk = 0; kk < k; kk++) p.data.set(F, base + (long) kk * NR * Float.BYTES, row[kk]);
        }
        return p;
    }

    /** A as row panels, W [M, K…] a weight whose first dimension is M (a Conv2d weight [out, in, k, k]). */
    public static PackedMatrix rowPanels(WeightTensor w) {
        int m = w.dim(0);
        int k = Math.toIntExact(w.numel() / m);
        PackedMatrix p = new PackedMatrix(Layout.ROW_PANELS, m, k);
        float[] row = new float[k];
        for (int i = 0; i < m; i++) {
            readRow(w, i, row);
            long base = p.rowPanelOffset(i / MR, 0) + (long) (i % MR) * Float.BYTES;
            for (int kk = 0; kk < k; kk++) p.data.set(F, base + (long) kk * MR * Float.BYTES, row[kk]);
        }
        return p;
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

    /** An empty (zero) K × N column-panel matrix, to be filled with {@link #setColumnPanels}. */
    static PackedMatrix columnPanels(int k, int n) { return new PackedMatrix(Layout.COLUMN_PANELS, k, n); }

    /**
     * A K × N column-panel matrix over reused {@code storage} (at least {@link #floats} floats; contents as left there),
     * to be filled with {@link #setColumnPanels}: a per-thread scratch operand that allocates nothing.
     */
    static PackedMatrix columnPanels(MemorySegment storage, int k, int n) { return new PackedMatrix(Layout.COLUMN_PANELS, k, n, storage); }

    /**
     * Overwrites all column panels from {@code src}, laid out as they are stored: panel p, row k, lane t at
     * {@code src[(p·K + k)·NR + t]} ({@link #panelFloats} floats).
     */
    void setColumnPanels(float[] src) {
        MemorySegment.copy(src, 0, data, F, 0, panelFloats());
    }

    /** Floats of the column-panel storage: ⌈N/NR⌉·NR·K. */
    int panelFloats() { return ceilDiv(cols, NR) * NR * rows; }

    /** A [M, K] given row-major (a[m·K + k]) as row panels. */
    public static PackedMatrix rowPanels(float[] a, int m, int k) {
        if ((long) m * k > a.length) throw new IllegalArgumentException("A of " + m + "×" + k + " needs " + (long) m * k + " floats, got " + a.length);
        PackedMatrix p = new PackedMatrix(Layout.ROW_PANELS, m, k);
        for (int i = 0; i < m; i++) {
            for (int kk = 0; kk < k; kk++) p.data.set(F, p.rowPanelOffset(i / MR, kk) + (long) (i % MR) * Float.BYTES, a[i * k + kk]);
        }
        return p;
    }

    /** Row {@code r} of a weight viewed as [dim0, rest], widened to float (I8 dequantised with scale[r]). */
    static void readRow(WeightTensor w, int r, float[] dst) {
        int len = dst.length;
        long start = (long) r * len;
        MemorySegment seg = w.data();
        DType t = w.dtype();
        switch (t) {
            case F32 -> MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), start * 4, dst, 0, len);
            case F16, BF16 -> {
                ValueLayout.OfShort s16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < len; i++) {
                    short h = seg.get(s16, (start + i) * 2);
                    dst[i] = t == DType.F16 ? Float.float16ToFloat(h) : DType.bf16ToFloat(h);
                }
            }
            case I8 -> {
                float scale = w.scales()[r];
                for (int i = 0; i < len; i++) dst[i] = seg.get(ValueLayout.JAVA_BYTE, start + i) * scale;
            }
        }
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    @Override
    public String toString() { return "PackedMatrix " + layout + " " + rows + "×" + cols; }
}
