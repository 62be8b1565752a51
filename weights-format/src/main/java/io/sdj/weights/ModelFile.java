package io.sdj.weights;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sdj.core.DType;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped sdj flat model file (format in {@code weights-format/FORMAT.md}). Opening validates the preamble,
 * the header JSON and the whole tensor table (dtypes, shapes, lengths, bounds, alignment, overlap); tensors are
 * zero-copy slices of the mapping. Checksums are verified at open when asked, or later with {@link #verify()}.
 */
public final class ModelFile implements ModelSource {
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A tensor whose stored CRC32C does not match its bytes. */
    public record ChecksumMismatch(TensorRecord tensor, long actual) {
        public String message(Path file) {
            return file + ": tensor '" + tensor.qualifiedName() + "' is corrupted: CRC32C " + FlatFormat.crcHex(actual)
                    + " but the table records " + FlatFormat.crcHex(tensor.crc32c());
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final long dataOffset;
    private final JsonNode header;
    private final String kind;
    private final Map<String, JsonNode> configs;
    private final Map<String, String> tokenizerFiles;
    private final List<TensorRecord> tensors;
    private final Map<String, Map<String, TensorRecord>> byComponent;
    private final long fileSize;
    private final int version;
    private final boolean headerChecked;

    private ModelFile(Path path, Arena arena, MemorySegment file, int version, boolean headerChecked, long dataOffset, JsonNode header, String kind,
                      Map<String, JsonNode> configs, Map<String, String> tokenizerFiles, List<TensorRecord> tensors) {
        this.path = path;
        this.version = version;
        this.headerChecked = headerChecked;
        this.arena = arena;
        this.file = file;
        this.fileSize = file.byteSize();
        this.dataOffset = dataOffset;
        this.header = header;
        this.kind = kind;
        this.configs = configs;
        this.tokenizerFiles = tokenizerFiles;
        this.tensors = tensors;
        Map<String, Map<String, TensorRecord>> by = new LinkedHashMap<>();
        for (String c : configs.keySet()) by.put(c, new LinkedHashMap<>());
        for (TensorRecord t : tensors) by.get(t.component()).put(t.name(), t);
        this.byComponent = by;
    }

    /** Opens and validates the file's structure; checksums are not read (see {@link #open(Path, boolean)}). */
    public static ModelFile open(Path path) { return open(path, false); }

    /** Opens and validates the file; with {@code verifyChecksums} every tensor's CRC32C is checked too. */
    public static ModelFile open(Path path, boolean verifyChecksums) {
        long size;
        try {
            size = Files.size(path);
        } catch (IOException e) {
            throw new WeightsFormatException(path + ": cannot read: " + e, e);
        }
        if (size < FlatFormat.PREAMBLE_BYTES_V1) {
            if (size >= FlatFormat.MAGIC.length && !hasMagic(path)) {
                throw new WeightsFormatException(path + ": not an sdj model file (wrong magic)");
            }
            throw new WeightsFormatException(path + ": truncated: " + size + " bytes, the preamble alone needs " + FlatFormat.PREAMBLE_BYTES_V1);
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            ModelFile mf = parse(path, arena, all);
            if (verifyChecksums) {
                List<ChecksumMismatch> bad = mf.verify();
                if (!bad.isEmpty()) throw new WeightsFormatException(bad.getFirst().message(path)
                        + (bad.size() > 1 ? " (and " + (bad.size() - 1) + " more corrupted tensors)" : ""));
            }
            return mf;
        } catch (IOException e) {
            arena.close();
            throw new WeightsFormatException(path + ": cannot map: " + e, e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static boolean hasMagic(Path path) {
        try (var in = Files.newInputStream(path)) {
            return Arrays.equals(in.readNBytes(FlatFormat.MAGIC.length), FlatFormat.MAGIC);
        } catch (IOException e) {
            return false;
        }
    }

    private static ModelFile parse(Path path, Arena arena, MemorySegment all) {
        long size = all.byteSize();
        byte[] magic = all.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE);
        if (!Arrays.equals(magic, FlatFormat.MAGIC)) {
            throw new WeightsFormatException(path + ": not an sdj model file (wrong magic " + printable(magic) + ", expected \"SDJMODEL\")");
        }
        int version = all.get(I32, 8);
        int preamble = FlatFormat.preambleBytes(version);
        if (preamble < 0) {
            throw new WeightsFormatException(path + ": unsupported format version " + Integer.toUnsignedString(version)
                    + " (this reader understands versions " + FlatFormat.VERSION_1 + " and " + FlatFormat.VERSION + ")");
        }
        if (size < preamble) {
            throw new WeightsFormatException(path + ": truncated: " + size + " bytes, the version " + version + " preamble alone needs " + preamble);
        }
        int flags = all.get(I32, 12);
        if (flags != 0) throw new WeightsFormatException(path + ": unsupported flags 0x" + Integer.toHexString(flags) + " (version " + version + " defines none)");
        long headerLength = all.get(I64, 16);
        long dataOffset = all.get(I64, 24);
        long dataLength = all.get(I64, 32);
        if (headerLength < 2 || headerLength > FlatFormat.MAX_HEADER_BYTES) {
            throw new WeightsFormatException(path + ": header length " + Long.toUnsignedString(headerLength) + " is outside [2, " + FlatFormat.MAX_HEADER_BYTES + "]");
        }
        if (preamble + headerLength > size) {
            throw new WeightsFormatException(path + ": truncated: the header needs " + (preamble + headerLength)
                    + " bytes but the file has " + size);
        }
        if (version >= FlatFormat.VERSION && all.get(I32, 44) != 0) {
            throw new WeightsFormatException(path + ": corrupt preamble: reserved field is 0x" + Integer.toHexString(all.get(I32, 44)) + ", must be 0");
        }
        if (dataOffset < preamble + headerLength || dataOffset % FlatFormat.ALIGNMENT != 0 || dataLength < 0) {
            throw new WeightsFormatException(path + ": corrupt preamble: data offset " + dataOffset + " / length " + dataLength
                    + " (data must start after the header, at a multiple of " + FlatFormat.ALIGNMENT + ")");
        }
        long expectedSize;
        try {
            expectedSize = Math.addExact(dataOffset, dataLength);
        } catch (ArithmeticException e) {
            throw new WeightsFormatException(path + ": corrupt preamble: data offset + length overflows");
        }
        if (expectedSize > size) {
            throw new WeightsFormatException(path + ": truncated: the preamble promises " + expectedSize + " bytes but the file has " + size);
        }
        if (expectedSize < size) {
            throw new WeightsFormatException(path + ": " + (size - expectedSize) + " trailing bytes after the data section (expected " + expectedSize + " bytes)");
        }
        byte[] headerBytes = all.asSlice(preamble, headerLength).toArray(ValueLayout.JAVA_BYTE);
        boolean headerChecked = version >= FlatFormat.VERSION;
        if (headerChecked) {
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(headerBytes);
            long stored = all.get(I32, 40) & 0xFFFFFFFFL;
            if (crc.getValue() != stored) {
                throw new WeightsFormatException(path + ": header is corrupted: CRC32C " + FlatFormat.crcHex(crc.getValue())
                        + " but the preamble records " + FlatFormat.crcHex(stored));
            }
        }
        String text = HeaderText.decodeUtf8(path, headerBytes);
        JsonNode header = HeaderText.parseObject(path, JSON, text);
        JsonNode kindNode = header.get("kind");
        if (kindNode == null || !kindNode.isTextual()) throw new WeightsFormatException(path + ": header has no \"kind\" string");
        JsonNode comps = header.get("components");
        if (comps == null || !comps.isObject()) throw new WeightsFormatException(path + ": header has no \"components\" object");
        Map<String, JsonNode> configs = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = comps.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> c = it.next();
            JsonNode cfg = c.getValue().isObject() ? c.getValue().get("config") : null;
            if (cfg == null || !cfg.isObject()) throw new WeightsFormatException(path + ": component " + io.sdj.core.Quote.of(c.getKey()) + " has no \"config\" object");
            configs.put(c.getKey(), cfg);
        }
        Map<String, String> tok = new LinkedHashMap<>();
        JsonNode tf = header.get("tokenizer_files");
        if (tf != null) {
            if (!tf.isObject()) throw new WeightsFormatException(path + ": \"tokenizer_files\" is not an object");
            tf.fields().forEachRemaining(e -> {
                if (!e.getValue().isTextual()) throw new WeightsFormatException(path + ": tokenizer file " + io.sdj.core.Quote.of(e.getKey()) + " is not a string");
                tok.put(e.getKey(), e.getValue().asText());
            });
        }
        JsonNode table = header.get("tensors");
        if (table == null || !table.isArray()) throw new WeightsFormatException(path + ": header has no \"tensors\" array");
        List<TensorRecord> list = new ArrayList<>();
        Map<String, Set<String>> seen = new LinkedHashMap<>();
        for (JsonNode t : table) {
            TensorRecord r = parseTensor(path, t, configs.keySet(), dataLength);
            if (!seen.computeIfAbsent(r.component(), k -> new java.util.HashSet<>()).add(r.name())) {
                throw new WeightsFormatException(path + ": tensor " + io.sdj.core.Quote.of(r.qualifiedName()) + " appears twice in the table");
            }
            list.add(r);
        }
        checkOverlap(path, list);
        return new ModelFile(path, arena, all, version, headerChecked, dataOffset, header, kindNode.asText(), Collections.unmodifiableMap(configs),
                Collections.unmodifiableMap(tok), Collections.unmodifiableList(list));
    }

    private static String printable(byte[] b) {
        StringBuilder sb = new StringBuilder("\"");
        for (byte x : b) sb.append(x >= 32 && x < 127 ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xFF));
        return sb.append('"').toString();
    }

    private static long nonNegativeLong(Path path, String where, JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
            throw new WeightsFormatException(path + ": " + where + ": \"" + field + "\" must be a non-negative integer below 2^63, found " + io.sdj.core.Quote.capped(v));
        }
        return v.asLong();
    }

    private static TensorRecord parseTensor(Path path, JsonNode t, Set<String> components, long dataLength) {
        if (!t.isObject()) throw new WeightsFormatException(path + ": tensor table entry is not an object: " + io.sdj.core.Quote.capped(t));
        JsonNode cn = t.get("component"), nn = t.get("name");
        if (nn == null || !nn.isTextual()) throw new WeightsFormatException(path + ": tensor table entry without a \"name\": " + io.sdj.core.Quote.capped(t));
        if (cn == null || !cn.isTextual()) throw new WeightsFormatException(path + ": tensor " + io.sdj.core.Quote.of(nn.asText()) + " has no \"component\"");
        String where = "tensor " + io.sdj.core.Quote.of(cn.asText() + "/" + nn.asText());
        if (!components.contains(cn.asText())) {
            throw new WeightsFormatException(path + ": " + where + " belongs to component " + io.sdj.core.Quote.of(cn.asText()) + " which the header does not declare");
        }
        JsonNode dn = t.get("dtype");
        if (dn == null || !dn.isTextual()) throw new WeightsFormatException(path + ": " + where + ": missing dtype");
        DType dtype = switch (dn.asText()) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "I8" -> DType.I8;
            default -> throw new WeightsFormatException(path + ": " + where + ": unknown dtype " + io.sdj.core.Quote.of(dn.asText()) + " (expected F32, F16, BF16 or I8)");
        };
        JsonNode sn = t.get("shape");
        if (sn == null || !sn.isArray()) throw new WeightsFormatException(path + ": " + where + ": missing shape");
        long[] shape = new long[sn.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sn.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) throw new WeightsFormatException(path + ": " + where + ": bad shape " + io.sdj.core.Quote.capped(sn));
            shape[i] = d.asLong();
        }
        long offset = nonNegativeLong(path, where, t, "offset");
        long length = nonNegativeLong(path, where, t, "length");
        long expected;
        try {
            expected = FlatFormat.byteLength(shape, dtype.bytes());
        } catch (ArithmeticException e) {
            throw new WeightsFormatException(path + ": " + where + ": shape " + io.sdj.core.Quote.capped(sn) + " overflows a 64-bit byte count");
        }
        if (expected != length) {
            throw new WeightsFormatException(path + ": " + where + ": shape " + sn + " × " + dtype + " is " + expected
                    + " bytes but the table records a length of " + length);
        }
        checkRange(path, where, "data", offset, length, dataLength);
        long so = -1, sl = -1;
        if (dtype == DType.I8) {
            if (shape.length == 0) throw new WeightsFormatException(path + ": " + where + ": an I8 tensor needs at least one dimension (its output channels)");
            JsonNode sc = t.get("scales");
            if (sc == null || !sc.isObject()) throw new WeightsFormatException(path + ": " + where + ": I8 tensor without \"scales\"");
            so = nonNegativeLong(path, where + " scales", sc, "offset");
            sl = nonNegativeLong(path, where + " scales", sc, "length");
            if (sl != shape[0] * 4) {
                throw new WeightsFormatException(path + ": " + where + ": " + shape[0] + " output channels need " + shape[0] * 4
                        + " bytes of F32 scales but the table records " + sl);
            }
            checkRange(path, where, "scales", so, sl, dataLength);
        } else if (t.has("scales")) {
            throw new WeightsFormatException(path + ": " + where + ": only I8 tensors have scales");
        }
        JsonNode crc = t.get("crc32c");
        if (crc == null || !crc.isTextual() || !crc.asText().matches("[0-9a-f]{8}")) {
            throw new WeightsFormatException(path + ": " + where + ": \"crc32c\" must be 8 lower-case hex digits, found " + crc);
        }
        return new TensorRecord(cn.asText(), nn.asText(), dtype, shape, offset, length, so, sl, Long.parseLong(crc.asText(), 16));
    }

    private static void checkRange(Path path, String where, String what, long offset, long length, long dataLength) {
        if (offset % FlatFormat.ALIGNMENT != 0) {
            throw new WeightsFormatException(path + ": " + where + ": " + what + " offset " + offset + " is not a multiple of " + FlatFormat.ALIGNMENT);
        }
        if (offset > dataLength || length > dataLength - offset) {
            throw new WeightsFormatException(path + ": " + where + ": " + what + " [" + offset + ", " + (offset + length)
                    + ") is out of range: the data section holds " + dataLength + " bytes");
        }
    }

    private record Region(TensorRecord t, String what, long begin, long end) {}

    private static void checkOverlap(Path path, List<TensorRecord> list) {
        List<Region> regions = new ArrayList<>();
        for (TensorRecord t : list) {
            regions.add(new Region(t, "data", t.offset(), t.offset() + t.length()));
            if (t.dtype() == DType.I8) regions.add(new Region(t, "scales", t.scalesOffset(), t.scalesOffset() + t.scalesLength()));
        }
        regions.sort(Comparator.comparingLong(Region::begin).thenComparingLong(Region::end));
        Region furthest = null;
        for (Region b : regions) {
            if (b.end() == b.begin()) continue;
            if (furthest != null && b.begin() < furthest.end()) {
                throw new WeightsFormatException(path + ": tensor " + io.sdj.core.Quote.of(b.t().qualifiedName()) + " " + b.what() + " [" + b.begin() + ", " + b.end()
                        + ") overlaps tensor " + io.sdj.core.Quote.of(furthest.t().qualifiedName()) + " " + furthest.what() + " [" + furthest.begin() + ", " + furthest.end() + ")");
            }
            if (furthest == null || b.end() > furthest.end()) furthest = b;
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    public Path path() { return path; }

    public long fileSize() { return fileSize; }

    /** The file's format version (1 or 2). */
    public int formatVersion() { return version; }

    /**
     * Whether the header JSON was checked against a stored CRC32C at open (format version 2 and later); version 1
     * files carry no header checksum, so their configs and tokenizer files are unchecked.
     */
    public boolean headerChecksummed() { return headerChecked; }

    /** The whole header JSON. */
    public JsonNode header() { return header; }

    @Override public String kind() { return kind; }

    @Override public List<String> components() { return List.copyOf(configs.keySet()); }

    @Override
    public JsonNode config(String component) {
        JsonNode c = configs.get(component);
        if (c == null) throw new WeightsFormatException(path + ": no component " + io.sdj.core.Quote.of(component) + " (the file has " + configs.keySet() + ")");
        return c;
    }

    @Override
    public Map<String, String> tokenizerFiles() { return tokenizerFiles; }

    @Override
    public JsonNode provenance() {
        JsonNode p = header.get("provenance");
        return p == null ? JsonNodeFactory.instance.objectNode() : p;
    }

    /** The tensor table in file order. */
    public List<TensorRecord> tensors() { return tensors; }

    /** The tensor records of one component, by upstream key. */
    public Map<String, TensorRecord> tensors(String component) {
        config(component);
        return Collections.unmodifiableMap(byComponent.get(component));
    }

    /** The raw stored bytes of a tensor (zero-copy). */
    public MemorySegment bytes(TensorRecord t) {
        return file.asSlice(dataOffset + t.offset(), t.length());
    }

    private MemorySegment scaleBytes(TensorRecord t) {
        return t.dtype() == DType.I8 ? file.asSlice(dataOffset + t.scalesOffset(), t.scalesLength()) : null;
    }

    /** A tensor as a zero-copy {@link WeightTensor} named by its upstream key (I8 scales are copied to a float[]). */
    public WeightTensor weight(TensorRecord t) {
        float[] scales = null;
        if (t.dtype() == DType.I8) {
            scales = new float[Math.toIntExact(t.shape()[0])];
            MemorySegment.copy(scaleBytes(t), F32, 0, scales, 0, scales.length);
        }
        return new WeightTensor(t.name(), t.dtype(), t.intShape(), bytes(t), scales);
    }

    /** Recomputes every tensor's CRC32C; returns the mismatches (empty when the file is intact). */
    public List<ChecksumMismatch> verify() {
        List<ChecksumMismatch> bad = new ArrayList<>();
        for (TensorRecord t : tensors) {
            long crc = Crc32c.of(bytes(t), scaleBytes(t));
            if (crc != t.crc32c()) bad.add(new ChecksumMismatch(t, crc));
        }
        return bad;
    }

    @Override
    public WeightSource weights(String component) {
        Map<String, TensorRecord> m = tensors(component);
        String origin = path + " [" + component + "]";
        return new WeightSource() {
            @Override
            public WeightTensor get(String name) {
                TensorRecord t = m.get(name);
                if (t == null) throw new WeightsFormatException(origin + ": no tensor named " + io.sdj.core.Quote.of(name));
                return weight(t);
            }

            @Override public boolean contains(String name) { return m.containsKey(name); }

            @Override public Set<String> names() { return m.keySet(); }

            @Override public String origin() { return origin; }
        };
    }

    @Override
    public void close() { arena.close(); }
}
