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
        return (ObjectNode) ModelFile.JSON.readTree(new String(all, 40, h, java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Rewrites a file's header (data section unchanged, moved to the new aligned data offset). */
    static void editHeader(Path p, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode header = readHeader(p);
        edit.accept(header);
        writeRawHeader(p, ModelFile.JSON.writeValueAsBytes(header));
    }

    static void writeRawHeader(Path p, byte[] headerBytes) throws IOException {
        byte[] all = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long dataOffset = b.getLong(24), dataLength = b.getLong(32);
        long newOffset = FlatFormat.dataOffset(headerBytes.length);
        ByteBuffer out = ByteBuffer.allocate((int) (newOffset + dataLength)).order(ByteOrder.LITTLE_ENDIAN);
        out.put(all, 0, 16).putLong(headerBytes.length).putLong(newOffset).putLong(dataLength).put(headerBytes);
        out.position((int) newOffset);
        out.put(all, (int) dataOffset, (int) dataLength);
        Files.write(p, out.array());
    }
}
