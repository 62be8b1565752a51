package io.sdj.weights;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Writes a {@code .safetensors} file (F32/F16/BF16 tensors, in the given order, header padded with spaces to a
 * multiple of 8). Used to build test checkpoints and to export.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    public static void write(Path out, Map<String, WeightTensor> tensors, Map<String, String> metadata) {
        ObjectNode h = JsonNodeFactory.instance.objectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = h.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long off = 0;
        for (Map.Entry<String, WeightTensor> e : tensors.entrySet()) {
            WeightTensor t = e.getValue();
            String dt = switch (t.dtype()) {
                case F32 -> "F32";
                case F16 -> "F16";
                case BF16 -> "BF16";
                case I8 -> throw new WeightsFormatException(out + ": tensor '" + e.getKey() + "': safetensors has no per-channel I8");
            };
            ObjectNode o = h.putObject(e.getKey());
            o.put("dtype", dt);
            ArrayNode s = o.putArray("shape");
            for (int d : t.shape()) s.add(d);
            long len = t.data().byteSize();
            o.putArray("data_offsets").add(off).add(off + len);
            off += len;
        }
        byte[] json;
        try {
            json = ModelFile.JSON.writeValueAsString(h).getBytes(StandardCharsets.UTF_8);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            long pos = TensorEncoder.writeFully(ch, head, 0);
            for (WeightTensor t : tensors.values()) {
                TensorEncoder.copy(t.data(), ch, pos, null);
                pos += t.data().byteSize();
            }
        } catch (IOException e) {
            throw new WeightsFormatException(out + ": cannot write: " + e, e);
        }
    }
}
