package io.sdj.weights;

import io.sdj.core.DType;
import io.sdj.core.WeightTensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Converts a stored weight to the dtype written into a flat file, streaming in chunks so tensors of any size work.
 * Narrowing rounds to nearest even (F16 via {@link Float#floatToFloat16}, BF16 via {@link DType#floatToBf16});
 * I8 is symmetric per output channel: {@code scale[c] = max|w[c,...]| / 127}, {@code q = rint(w / scale)}.
 */
public final class TensorEncoder {
    private static final int CHUNK_ELEMENTS = 1 << 18;
    private static final long COPY_CHUNK = 1L << 26;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TensorEncoder() {}

    /**
     * The dtype a tensor is stored in for a requested target: {@code null} keeps the source dtype; I8 applies to
     * tensors of rank ≥ 2 only (biases, norms and other vectors keep their float dtype, F32 if the source was I8).
     */
    public static DType storedDType(WeightTensor src, DType requested) {
        if (requested == null) return src.dtype();
        if (requested == DType.I8 && src.shape().length < 2) return src.dtype() == DType.I8 ? DType.F32 : src.dtype();
        return requested;
    }

    /** Symmetric per-output-channel scales (first dimension) of a float tensor. */
    public static float[] int8Scales(WeightTensor src) {
        int rows = src.shape()[0];
        long rowLen = rows == 0 ? 0 : src.numel() / rows;
        float[] scales = new float[rows];
        for (int r = 0; r < rows; r++) {
            float max = 0;
            for (long i = r * rowLen, e = i + rowLen; i < e; i++) {
                float v = src.get(i);
                if (!Float.isFinite(v)) {
                    throw new WeightsFormatException("tensor '" + src.name() + "': element " + i + " is " + v + ", which cannot be quantised to I8");
                }
                max = Math.max(max, Math.abs(v));
            }
            scales[r] = max / 127f;
        }
        return scales;
    }

    /** The I8 code of {@code v} for a channel scale (0 when the whole channel is 0). */
    public static byte quantise(float v, float scale) {
        if (scale == 0f) return 0;
        double q = Math.rint(v / (double) scale);
        return (byte) Math.max(-127, Math.min(127, q));
    }

    /**
     * Writes {@code src} converted to {@code target} at {@code position} of {@code ch}, feeding the written bytes to
     * {@code crc}. For I8 the scales are returned (the caller writes them), else null.
     */
    public static float[] write(WeightTensor src, DType target, FileChannel ch, long position, CRC32C crc) throws IOException {
        if (target == src.dtype()) {
            copy(src.data(), ch, position, crc);
            return src.scales() == null ? null : src.scales().clone();
        }
        long n = src.numel();
        float[] scales = target == DType.I8 ? int8Scales(src) : null;
        long rowLen = scales == null || scales.length == 0 ? 1 : n / scales.length;
        float[] buf = new float[(int) Math.min(CHUNK_ELEMENTS, Math.max(1, n))];
        ByteBuffer out = ByteBuffer.allocate(buf.length * target.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        long pos = position;
        for (long start = 0; start < n; start += buf.length) {
            int count = (int) Math.min(buf.length, n - start);
            if (src.dtype() == DType.F32) {
                MemorySegment.copy(src.data(), F32, start * 4, buf, 0, count);
            } else {
                for (int i = 0; i < count; i++) buf[i] = src.get(start + i);
            }
            out.clear();
            switch (target) {
                case F32 -> { for (int i = 0; i < count; i++) out.putFloat(buf[i]); }
                case F16 -> { for (int i = 0; i < count; i++) out.putShort(Float.floatToFloat16(buf[i])); }
                case BF16 -> { for (int i = 0; i < count; i++) out.putShort(DType.floatToBf16(buf[i])); }
                case I8 -> { for (int i = 0; i < count; i++) out.put(quantise(buf[i], scales[(int) ((start + i) / rowLen)])); }
            }
            out.flip();
            crc.update(out.duplicate());
            pos += writeFully(ch, out, pos);
        }
        return scales;
    }

    /** Writes raw bytes in chunks (no int-sized ByteBuffer limit). */
    static void copy(MemorySegment data, FileChannel ch, long position, CRC32C crc) throws IOException {
        long n = data.byteSize();
        for (long off = 0; off < n; off += COPY_CHUNK) {
            ByteBuffer b = byteBuffer(data.asSlice(off, Math.min(COPY_CHUNK, n - off)));
            if (crc != null) crc.update(b.duplicate());
            writeFully(ch, b, position + off);
        }
    }

    /** A ByteBuffer view of a segment of at most 2 GiB (heap segments over non-byte arrays are copied). */
    static ByteBuffer byteBuffer(MemorySegment s) {
        if (s.isNative() || s.heapBase().map(o -> o instanceof byte[]).orElse(false)) return s.asByteBuffer();
        return ByteBuffer.wrap(s.toArray(ValueLayout.JAVA_BYTE));
    }

    static int writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        int total = 0;
        while (b.hasRemaining()) total += ch.write(b, position + total);
        return total;
    }
}
