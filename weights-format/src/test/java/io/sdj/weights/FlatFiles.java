package io.sdj.weights;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.Consumer;

/** Test helpers: random tensors and surgery on flat files' headers. */
final class FlatFiles {
    private FlatFiles() {}

    static WeightTensor random(String name, Random r, int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * (i % 7 == 0 ? 3 : 0.05));
        return WeightTensor.ofFloats(name, v, shape);
    }

    static ObjectNode readHeader(Path p) throws IOException {
        byte[] all = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int h = (int) b.getLong(16);
        int pre = FlatFormat.preambleBytes(b.getInt(8));
        return (ObjectNode) ModelFile.JSON.readTree(new String(all, pre, h, java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Rewrites a file's header (data section unchanged, moved to the new aligned data offset). */
    static void editHeader(Path p, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode header = readHeader(p);
        edit.accept(header);
        writeRawHeader(p, ModelFile.JSON.writeValueAsBytes(header));
    }

    /** Replaces the header as a careful tool would: the version 2 header checksum is recomputed. */
    static void writeRawHeader(Path p, byte[] headerBytes) throws IOException {
        byte[] all = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long dataOffset = b.getLong(24), dataLength = b.getLong(32);
        long newOffset = FlatFormat.dataOffset(headerBytes.length);
        ByteBuffer out = ByteBuffer.allocate((int) (newOffset + dataLength)).order(ByteOrder.LITTLE_ENDIAN);
        out.put(all, 0, 16).putLong(headerBytes.length).putLong(newOffset).putLong(dataLength);
        if (b.getInt(8) >= FlatFormat.VERSION) {
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(headerBytes);
            out.putInt((int) crc.getValue()).putInt(0);
        }
        out.put(headerBytes);
        out.position((int) newOffset);
        out.put(all, (int) dataOffset, (int) dataLength);
        Files.write(p, out.array());
    }
}
