package io.sdj.weights;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.DeserializationFeature;
import io.sdj.core.DType;
import io.sdj.core.Quote;
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
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped {@code .safetensors} file, validated as strictly as the reference implementation: header length
 * bound, header is a JSON object, known dtypes, non-negative shapes, {@code data_offsets} contiguous from 0 without gaps
 * or overlap and ending exactly at the end of the file, and element count × dtype size = byte length.
 * Tensors are zero-copy slices of the mapping; close the file to unmap.
 */
public final class Safetensors implements TensorFile {
    /** The reference implementation refuses headers above 100 MB. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One entry of the header. {@code dtype} is the safetensors name (F32, F16, BF16, I64, ...). */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public int[] intShape() {
            int[] s = new int[shape.length];
            for (int i = 0; i < s.length; i++) {
                if (shape[i] > Integer.MAX_VALUE) {
                    throw new WeightsFormatException("tensor " + Quote.of(name) + ": dimension " + i + " is " + shape[i]
                            + ", above the largest supported (" + Integer.MAX_VALUE + ")");
                }
                s[i] = (int) shape[i];
            }
            return s;
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private Safetensors(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Bytes per element of a safetensors dtype, or -1 when unknown. */
    public static int dtypeSize(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> -1;
        };
    }

    public static Safetensors open(Path path) {
        long size;
        try {
            size = Files.size(path);
        } catch (IOException e) {
            throw new WeightsFormatException(path + ": cannot read: " + e.getMessage(), e);
        }
        if (size < 8) throw new WeightsFormatException(path + ": truncated: " + size + " bytes, a safetensors file has at least 8");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = all.get(I64, 0);
            if (n < 0 || n > MAX_HEADER_BYTES) {
                throw new WeightsFormatException(path + ": header length " + Long.toUnsignedString(n) + " is above the " + MAX_HEADER_BYTES + "-byte limit");
            }
            if (8 + n > size) {
                throw new WeightsFormatException(path + ": truncated: header claims " + n + " bytes but the file has " + (size - 8) + " after the length");
            }
            if (n == 0) throw new WeightsFormatException(path + ": empty header (length 0); a safetensors header is a JSON object");
            byte[] hb = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            String headerText = HeaderText.decodeUtf8(path, hb);
            if (!headerText.startsWith("{")) throw new WeightsFormatException(path + ": header does not start with '{'");
            JsonNode header = HeaderText.parseObject(path, JSON, headerText);
            if (header == null || !header.isObject()) throw new WeightsFormatException(path + ": header is not a JSON object");
            MemorySegment body = all.asSlice(8 + n);
            Map<String, String> meta = new LinkedHashMap<>();
            List<Entry> list = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if (f.getKey().equals("__metadata__")) {
                    if (!f.getValue().isObject()) throw new WeightsFormatException(path + ": __metadata__ is not an object");
                    f.getValue().fields().forEachRemaining(m -> {
                        if (!m.getValue().isTextual()) throw new WeightsFormatException(path + ": __metadata__ value " + Quote.of(m.getKey()) + " is not a string");
                        meta.put(m.getKey(), m.getValue().asText());
                    });
                    continue;
                }
                list.add(parseEntry(path, f.getKey(), f.getValue()));
            }
            List<Entry> sorted = new ArrayList<>(list);
            sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
            long expect = 0;
            for (Entry e : sorted) {
                if (e.begin() != expect) {
                    throw new WeightsFormatException(path + ": tensor " + Quote.of(e.name()) + " starts at " + e.begin() + " but the previous data ends at " + expect
                            + (e.begin() < expect ? " (overlap)" : " (gap)"));
                }
                expect = e.end();
            }
            if (expect != body.byteSize()) {
                throw new WeightsFormatException(path + ": tensor data ends at " + expect + " but the file holds " + body.byteSize()
                        + " data bytes" + (expect > body.byteSize() ? " (truncated)" : " (trailing bytes)"));
            }
            Map<String, Entry> byName = new LinkedHashMap<>();
            for (Entry e : list) byName.put(e.name(), e);
            return new Safetensors(path, arena, body, Collections.unmodifiableMap(byName), Collections.unmodifiableMap(meta));
        } catch (IOException e) {
            arena.close();
            throw new WeightsFormatException(path + ": cannot map: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Entry parseEntry(Path path, String name, JsonNode v) {
        String where = path + ": tensor " + Quote.of(name);
        if (!v.isObject()) throw new WeightsFormatException(where + ": entry is not an object");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw new WeightsFormatException(where + ": missing dtype");
        if (sh == null || !sh.isArray()) throw new WeightsFormatException(where + ": missing shape");
        if (off == null || !off.isArray() || off.size() != 2) throw new WeightsFormatException(where + ": data_offsets must be [begin, end]");
        String dtype = dt.asText();
        int es = dtypeSize(dtype);
        if (es < 0) throw new WeightsFormatException(where + ": unknown dtype " + Quote.of(dtype));
        long[] shape = new long[sh.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) throw new WeightsFormatException(where + ": bad shape " + Quote.capped(sh));
            shape[i] = d.asLong();
        }
        long bytes;
        try {
            bytes = FlatFormat.byteLength(shape, es);
        } catch (ArithmeticException overflow) {
            throw new WeightsFormatException(where + ": shape " + Quote.capped(sh) + " × " + dtype + " overflows a 64-bit byte count");
        }
        JsonNode b = off.get(0), e = off.get(1);
        if (!b.isIntegralNumber() || !e.isIntegralNumber() || !b.canConvertToLong() || !e.canConvertToLong()
                || b.asLong() < 0 || e.asLong() < b.asLong()) {
            throw new WeightsFormatException(where + ": bad data_offsets " + Quote.capped(off) + " (two integers 0 ≤ begin ≤ end < 2^63)");
        }
        long begin = b.asLong(), end = e.asLong();
        if (bytes != end - begin) {
            throw new WeightsFormatException(where + ": shape " + Quote.capped(sh) + " × " + dtype + " is " + bytes + " bytes but data_offsets span " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    @Override
    public Path path() { return path; }

    public Map<String, Entry> entries() { return entries; }

    public Map<String, String> metadata() { return metadata; }

    @Override
    public boolean contains(String name) { return entries.containsKey(name); }

    @Override
    public String dtype(String name) { return entry(name).dtype(); }

    @Override
    public long[] shape(String name) { return entry(name).shape().clone(); }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new WeightsFormatException(path + ": no tensor named " + Quote.of(name));
        return e;
    }

    /** The raw bytes of a tensor (zero-copy). */
    @Override
    public MemorySegment bytes(String name) {
        Entry e = entry(name);
        return data.asSlice(e.begin(), e.end() - e.begin());
    }

    @Override
    public WeightTensor get(String name) { return weight(name); }

    @Override
    public java.util.Set<String> names() { return entries.keySet(); }

    @Override
    public String origin() { return path.toString(); }

    /**
     * Whether a safetensors dtype holds float weights this engine reads: F32, F16 and BF16 (zero-copy) and the
     * float8 formats F8_E4M3 and F8_E5M2 (widened to F32 when read).
     */
    public static boolean isFloat(String dtype) {
        return switch (dtype) {
            case "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2" -> true;
            default -> false;
        };
    }

    /**
     * A float tensor as a {@link WeightTensor}: F32, F16 or BF16 zero-copy; float8 (E4M3, E5M2) widened exactly to
     * an F32 copy (every float8 value is a float32 value).
     */
    public WeightTensor weight(String name) {
        Entry e = entry(name);
        DType dt = switch (e.dtype()) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "F8_E4M3", "F8_E5M2" -> null;
            default -> throw new WeightsFormatException(path + ": tensor " + Quote.of(name) + " has dtype " + e.dtype()
                    + ", expected F32, F16, BF16, F8_E4M3 or F8_E5M2");
        };
        int[] shape = e.intShape();
        if (dt == null) {
            MemorySegment s = bytes(name);
            if (s.byteSize() > Integer.MAX_VALUE - 8) {
                throw new WeightsFormatException(path + ": tensor " + Quote.of(name) + " has " + s.byteSize() + " float8 values, too many to widen in one piece");
            }
            float[] table = e.dtype().equals("F8_E4M3") ? Float8.E4M3 : Float8.E5M2;
            float[] v = new float[(int) s.byteSize()];
            for (int i = 0; i < v.length; i++) v[i] = table[s.get(ValueLayout.JAVA_BYTE, i) & 0xFF];
            return WeightTensor.ofFloats(name, v, shape);
        }
        return new WeightTensor(name, dt, shape, bytes(name), null);
    }

    /** A float tensor widened to float32. */
    public float[] floats(String name) { return weight(name).toFloats(); }

    /** An integer tensor (I64 or I32) as longs. */
    public long[] longs(String name) {
        Entry e = entry(name);
        MemorySegment s = bytes(name);
        long[] out = new long[Math.toIntExact(e.numel())];
        switch (e.dtype()) {
            case "I64" -> { for (int i = 0; i < out.length; i++) out[i] = s.getAtIndex(I64, i); }
            case "I32" -> { for (int i = 0; i < out.length; i++) out[i] = s.getAtIndex(I32, i); }
            default -> throw new WeightsFormatException(path + ": tensor '" + name + "' has dtype " + e.dtype() + ", expected I64 or I32");
        }
        return out;
    }

    @Override
    public void close() { arena.close(); }
}
