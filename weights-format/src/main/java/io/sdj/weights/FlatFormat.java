package io.sdj.weights;

import java.nio.charset.StandardCharsets;

/**
 * Constants and offset arithmetic of the sdj flat model file (see {@code weights-format/FORMAT.md}).
 * All offsets are {@code long}: files above 2 GiB (and above 4 GiB) are ordinary.
 */
public final class FlatFormat {
    private FlatFormat() {}

    /** The first eight bytes of every file. */
    public static final byte[] MAGIC = "SDJMODEL".getBytes(StandardCharsets.US_ASCII);
    /** The format version the writer produces; the reader also reads {@link #VERSION_1}. */
    public static final int VERSION = 2;
    /** The first version: no header checksum (such files are read and reported as "header unchecked"). */
    public static final int VERSION_1 = 1;
    /** Version 2: magic(8) version(4) flags(4) header_length(8) data_offset(8) data_length(8) header_crc32c(4) reserved(4). */
    public static final int PREAMBLE_BYTES = 48;
    /** Version 1: the same without header_crc32c and reserved. */
    public static final int PREAMBLE_BYTES_V1 = 40;
    /** Bytes needed to read the magic and the version. */
    public static final int VERSION_BYTES = 12;

    /** Preamble size of a format version, or -1 for a version this reader does not understand. */
    public static int preambleBytes(int version) {
        return switch (version) {
            case VERSION_1 -> PREAMBLE_BYTES_V1;
            case VERSION -> PREAMBLE_BYTES;
            default -> -1;
        };
    }
    /** Every tensor (and every I8 scale vector) starts at a multiple of this, counted from the start of the file. */
    public static final int ALIGNMENT = 64;
    /** A header larger than this is refused (it is JSON: configs, tokenizer files and the tensor table). */
    public static final long MAX_HEADER_BYTES = 1L << 30;
    /** Version string written into {@code provenance.converter}. */
    public static final String CONVERTER = "sdj-weights 0.1.0";

    /** The smallest multiple of {@link #ALIGNMENT} that is {@code >= x} (x non-negative). */
    public static long alignUp(long x) {
        if (x < 0) throw new IllegalArgumentException("negative offset " + x);
        long r = Math.addExact(x, ALIGNMENT - 1);
        return r - (r % ALIGNMENT);
    }

    /** Where the data section starts for a header of {@code headerBytes} bytes. */
    public static long dataOffset(long headerBytes) {
        return alignUp(Math.addExact(PREAMBLE_BYTES, headerBytes));
    }

    /** Byte length of a tensor: element count × element size, overflow-checked. */
    public static long byteLength(long[] shape, int elementBytes) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension " + d);
            n = Math.multiplyExact(n, d);
        }
        return Math.multiplyExact(n, elementBytes);
    }

    /** CRC32C as the file writes it: eight lower-case hex digits. */
    public static String crcHex(long crc) {
        return String.format("%08x", crc & 0xFFFFFFFFL);
    }
}
