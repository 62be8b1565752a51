package io.sdj.weights;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/** CRC32C over memory segments of any length (fed in chunks, so no int-sized ByteBuffer limit applies). */
final class Crc32c {
    private static final long CHUNK = 1L << 26;

    private Crc32c() {}

    static void update(CRC32C crc, MemorySegment s) {
        long n = s.byteSize();
        for (long off = 0; off < n; off += CHUNK) {
            crc.update(TensorEncoder.byteBuffer(s.asSlice(off, Math.min(CHUNK, n - off))));
        }
    }

    static long of(MemorySegment... parts) {
        CRC32C crc = new CRC32C();
        for (MemorySegment p : parts) if (p != null) update(crc, p);
        return crc.getValue();
    }
}
