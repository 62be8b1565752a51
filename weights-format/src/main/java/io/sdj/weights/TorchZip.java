package io.sdj.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The zip container of a torch ≥ 1.6 checkpoint, read from its central directory (ZIP64 included) over a mapped
 * file and never extracted: every entry under one top-level folder, only the names torch writes, no duplicates, the
 * local header's name equal to the central directory's, STORED (uncompressed) records lying inside the file, and
 * {@code byteorder}, when present, {@code little}. Members are zero-copy slices.
 */
final class TorchZip {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Pattern ALLOWED = Pattern.compile("data\\.pkl|version|\\.format_version|\\.storage_alignment|byteorder|data/\\d+|\\.data/serialization_id|\\.data/version");

    private final String prefix;
    private final Map<String, MemorySegment> members;

    private TorchZip(String prefix, Map<String, MemorySegment> members) {
        this.prefix = prefix;
        this.members = members;
    }

    /** The top-level folder with its slash ({@code archive/}). */
    String prefix() { return prefix; }

    boolean has(String name) { return members.containsKey(name); }

    /** A member by its name under the top-level folder; throws naming it when absent. */
    MemorySegment member(String name) {
        MemorySegment m = members.get(name);
        if (m == null) throw new WeightsFormatException("zip: no record " + prefix + name);
        return m;
    }

    private static long u16(MemorySegment s, long at) { return s.get(U16, at) & 0xffffL; }

    private static long u32(MemorySegment s, long at) { return s.get(U32, at) & 0xffffffffL; }

    private static void need(MemorySegment s, long at, long n, String what) {
        if (at < 0 || n < 0 || at > s.byteSize() - n) throw new WeightsFormatException("zip: " + what + " lies outside the file (offset " + at + ", " + n + " bytes)");
    }

    static TorchZip read(MemorySegment f) {
        long size = f.byteSize();
        long eocd = -1;
        for (long p = size - 22; p >= Math.max(0, size - 22 - 65535); p--) {
            if (f.get(U32, p) == 0x06054b50) { eocd = p; break; }
        }
        if (eocd < 0) throw new WeightsFormatException("zip: no end-of-central-directory record (truncated or not a zip archive)");
        long count = u16(f, eocd + 10), cdSize = u32(f, eocd + 12), cdOffset = u32(f, eocd + 16);
        if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            long loc = eocd - 20;
            need(f, loc, 20, "ZIP64 locator");
            if (f.get(U32, loc) != 0x07064b50) throw new WeightsFormatException("zip: ZIP64 sizes without a ZIP64 locator");
            long z = f.get(U64, loc + 8);
            need(f, z, 56, "ZIP64 end of central directory");
            if (f.get(U32, z) != 0x06064b50) throw new WeightsFormatException("zip: bad ZIP64 end-of-central-directory signature");
            count = f.get(U64, z + 32);
            cdSize = f.get(U64, z + 40);
            cdOffset = f.get(U64, z + 48);
        }
        need(f, cdOffset, cdSize, "central directory");
        if (count > cdSize / 46 + 1) throw new WeightsFormatException("zip: " + count + " entries cannot fit a central directory of " + cdSize + " bytes");
        Map<String, MemorySegment> members = new LinkedHashMap<>();
        String prefix = null;
        long p = cdOffset;
        for (long i = 0; i < count; i++) {
            need(f, p, 46, "central directory entry " + i);
            if (f.get(U32, p) != 0x02014b50) throw new WeightsFormatException("zip: bad central directory entry signature at offset " + p);
            int method = (int) u16(f, p + 10);
            long csize = u32(f, p + 20), usize = u32(f, p + 24);
            int nlen = (int) u16(f, p + 28), xlen = (int) u16(f, p + 30), clen = (int) u16(f, p + 32);
            long local = u32(f, p + 42);
            need(f, p + 46, nlen + xlen + clen, "central directory entry " + i);
            String name = new String(f.asSlice(p + 46, nlen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            // ZIP64 extra field: the 64-bit values of the fields saturated above, in this order
            long x = p + 46 + nlen, xend = x + xlen;
            while (x + 4 <= xend) {
                int id = (int) u16(f, x), len = (int) u16(f, x + 2);
                if (x + 4 + len > xend) throw new WeightsFormatException("zip: entry '" + name + "': malformed extra field");
                if (id == 1) {
                    long q = x + 4;
                    if (usize == 0xffffffffL) { if (q + 8 > x + 4 + len) throw new WeightsFormatException("zip: entry '" + name + "': short ZIP64 field"); usize = f.get(U64, q); q += 8; }
                    if (csize == 0xffffffffL) { if (q + 8 > x + 4 + len) throw new WeightsFormatException("zip: entry '" + name + "': short ZIP64 field"); csize = f.get(U64, q); q += 8; }
                    if (local == 0xffffffffL) { if (q + 8 > x + 4 + len) throw new WeightsFormatException("zip: entry '" + name + "': short ZIP64 field"); local = f.get(U64, q); }
                }
                x += 4 + len;
            }
            p += 46 + nlen + xlen + clen;
            int slash = name.indexOf('/');
            if (slash <= 0) throw new WeightsFormatException("zip: entry '" + name + "' is not under a top-level folder");
            String top = name.substring(0, slash + 1), rest = name.substring(slash + 1);
            if (prefix == null) prefix = top;
            else if (!prefix.equals(top)) throw new WeightsFormatException("zip: entries under two top-level folders ('" + prefix + "' and '" + top + "')");
            if (!ALLOWED.matcher(rest).matches()) throw new WeightsFormatException("zip: unexpected entry '" + name + "' (not a record torch.save writes)");
            if (members.containsKey(rest)) throw new WeightsFormatException("zip: entry '" + name + "' appears twice");
            if (method != 0) throw new WeightsFormatException("zip: entry '" + name + "' is compressed (method " + method + "); torch.save writes STORED records");
            if (csize != usize) throw new WeightsFormatException("zip: entry '" + name + "' is STORED but its sizes differ (" + csize + " vs " + usize + ")");
            need(f, local, 30, "local header of '" + name + "'");
            if (f.get(U32, local) != 0x04034b50) throw new WeightsFormatException("zip: entry '" + name + "': bad local header signature");
            if (u16(f, local + 8) != 0) throw new WeightsFormatException("zip: entry '" + name + "': local header says compressed");
            int lnlen = (int) u16(f, local + 26), lxlen = (int) u16(f, local + 28);
            need(f, local + 30, lnlen + lxlen, "local header of '" + name + "'");
            String lname = new String(f.asSlice(local + 30, lnlen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            if (!lname.equals(name)) throw new WeightsFormatException("zip: local header names '" + lname + "' where the central directory names '" + name + "'");
            long start = local + 30 + lnlen + lxlen;
            need(f, start, usize, "data of '" + name + "'");
            members.put(rest, f.asSlice(start, usize));
        }
        if (prefix == null) throw new WeightsFormatException("zip: empty archive");
        if (!members.containsKey("data.pkl")) throw new WeightsFormatException("zip: no " + prefix + "data.pkl record (not a PyTorch checkpoint)");
        MemorySegment bo = members.get("byteorder");
        if (bo != null) {
            String order = new String(bo.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).trim();
            if (!order.equals("little")) throw new WeightsFormatException("zip: byteorder is '" + order + "', only little-endian checkpoints are read");
        }
        return new TorchZip(prefix, members);
    }
}
