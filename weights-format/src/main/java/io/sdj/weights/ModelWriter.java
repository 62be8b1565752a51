package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.DType;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Writes any {@link ModelSource} as an sdj flat file. The file is written to a hidden temporary sibling and renamed
 * into place only when complete, so an interrupted conversion never leaves a half-written model under the target
 * name; an existing target is replaced only when asked.
 */
public final class ModelWriter {
    private ModelWriter() {}

    /** What was written. */
    public record Result(Path path, long bytes, int tensors) {}

    private record Planned(String component, WeightTensor src, DType dtype, long offset, long length, long scalesOffset, long scalesLength) {}

    /**
     * @param dtype     target dtype, or null to keep every tensor's source dtype
     * @param overwrite replace an existing {@code out}
     * @param provenance extra provenance fields (source, source_format ...); converter and dtype are added
     */
    public static Result write(ModelSource src, Path out, DType dtype, boolean overwrite, ObjectNode provenance) {
        if (!overwrite && Files.exists(out)) {
            throw new WeightsFormatException(out + ": already exists (use --force to overwrite)");
        }
        Path dir = out.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + out.getFileName() + ".partial-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        Thread cleanup = new Thread(() -> {
            try { Files.deleteIfExists(tmp); } catch (IOException ignored) { }
        });
        Runtime.getRuntime().addShutdownHook(cleanup);
        boolean done = false;
        try {
            Result r = writeTo(src, tmp, dtype, provenance);
            try {
                if (overwrite) Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                else Files.move(tmp, out);
            } catch (FileAlreadyExistsException e) {
                throw new WeightsFormatException(out + ": already exists (use --force to overwrite)", e);
            }
            done = true;
            return new Result(out, r.bytes(), r.tensors());
        } catch (IOException e) {
            throw new WeightsFormatException(out + ": cannot write: " + e, e);
        } finally {
            if (!done) {
                try { Files.deleteIfExists(tmp); } catch (IOException ignored) { }
            }
            try { Runtime.getRuntime().removeShutdownHook(cleanup); } catch (IllegalStateException ignored) { }
        }
    }

    private static Result writeTo(ModelSource src, Path file, DType dtype, ObjectNode extraProvenance) throws IOException {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode header = f.objectNode();
        header.put("kind", src.kind());
        ObjectNode comps = header.putObject("components");
        List<Planned> plan = new ArrayList<>();
        long cursor = 0;
        for (String c : src.components()) {
            comps.putObject(c).set("config", src.config(c));
            WeightSource w = src.weights(c);
            for (String name : w.names()) {
                WeightTensor t = w.get(name);
                if (!t.name().equals(name)) t = new WeightTensor(name, t.dtype(), t.shape(), t.data(), t.scales());
                DType stored = TensorEncoder.storedDType(t, dtype);
                long len = FlatFormat.byteLength(toLong(t.shape()), stored.bytes());
                long off = cursor;
                cursor = FlatFormat.alignUp(Math.addExact(off, len));
                long so = -1, sl = -1;
                if (stored == DType.I8) {
                    so = cursor;
                    sl = 4L * t.shape()[0];
                    cursor = FlatFormat.alignUp(so + sl);
                }
                plan.add(new Planned(c, t, stored, off, len, so, sl));
            }
        }
        ObjectNode tok = header.putObject("tokenizer_files");
        for (Map.Entry<String, String> e : src.tokenizerFiles().entrySet()) tok.put(e.getKey(), e.getValue());
        ObjectNode prov = header.putObject("provenance");
        JsonNode srcProv = src.provenance();
        if (srcProv != null && srcProv.isObject()) prov.setAll((ObjectNode) srcProv.deepCopy());
        if (extraProvenance != null) prov.setAll(extraProvenance);
        prov.put("converter", FlatFormat.CONVERTER);
        prov.put("dtype", dtype == null ? "source" : dtype.name().toLowerCase(Locale.ROOT));
        ArrayNode table = header.putArray("tensors");
        List<ObjectNode> rows = new ArrayList<>();
        for (Planned p : plan) {
            ObjectNode r = table.addObject();
            r.put("component", p.component());
            r.put("name", p.src().name());
            r.put("dtype", p.dtype().name());
            ArrayNode sh = r.putArray("shape");
            for (int d : p.src().shape()) sh.add(d);
            r.put("offset", p.offset());
            r.put("length", p.length());
            if (p.dtype() == DType.I8) {
                ObjectNode s = r.putObject("scales");
                s.put("offset", p.scalesOffset());
                s.put("length", p.scalesLength());
            }
            r.put("crc32c", FlatFormat.crcHex(0));
            rows.add(r);
        }
        byte[] placeholder = ModelFile.JSON.writeValueAsBytes(header);
        long dataOffset = FlatFormat.dataOffset(placeholder.length);
        long dataLength = cursor;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < plan.size(); i++) {
                Planned p = plan.get(i);
                CRC32C crc = new CRC32C();
                float[] scales = TensorEncoder.write(p.src(), p.dtype(), ch, dataOffset + p.offset(), crc);
                if (p.dtype() == DType.I8) {
                    MemorySegment s = MemorySegment.ofArray(littleEndian(scales));
                    TensorEncoder.copy(s, ch, dataOffset + p.scalesOffset(), crc);
                }
                rows.get(i).put("crc32c", FlatFormat.crcHex(crc.getValue()));
            }
            byte[] headerBytes = ModelFile.JSON.writeValueAsBytes(header);
            if (headerBytes.length != placeholder.length) {
                throw new IllegalStateException("header length changed while writing (" + placeholder.length + " → " + headerBytes.length + ")");
            }
            ByteBuffer pre = ByteBuffer.allocate(FlatFormat.PREAMBLE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            CRC32C headerCrc = new CRC32C();
            headerCrc.update(headerBytes);
            pre.put(FlatFormat.MAGIC).putInt(FlatFormat.VERSION).putInt(0)
                    .putLong(headerBytes.length).putLong(dataOffset).putLong(dataLength)
                    .putInt((int) headerCrc.getValue()).putInt(0).flip();
            TensorEncoder.writeFully(ch, pre, 0);
            TensorEncoder.writeFully(ch, ByteBuffer.wrap(headerBytes), FlatFormat.PREAMBLE_BYTES);
            long total = dataOffset + dataLength;
            if (ch.size() < total) TensorEncoder.writeFully(ch, ByteBuffer.allocate(1), total - 1);
            ch.force(true);
            return new Result(file, total, plan.size());
        }
    }

    private static byte[] littleEndian(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    private static long[] toLong(int[] s) {
        long[] l = new long[s.length];
        for (int i = 0; i < s.length; i++) l[i] = s[i];
        return l;
    }
}
