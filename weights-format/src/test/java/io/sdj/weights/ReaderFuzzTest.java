package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.DType;
import io.sdj.core.WeightTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded mutation fuzzing of the two weight-file readers (bounded: a fixed number of mutants from fixed seeds, a few
 * seconds). Every mutant must either open cleanly and read back every tensor, or be refused with a
 * {@link WeightsFormatException} whose message names the file — never another exception type, never a hang.
 * Coverage-guided fuzzing of the same readers runs in the {@code fuzz} Maven profile (README "Fuzzing").
 */
class ReaderFuzzTest {
    @TempDir
    Path tmp;

    private static final int MUTANTS = 600;

    /** A valid safetensors file with tensors of several dtypes and shapes. */
    private Path baseSafetensors() throws IOException {
        Random r = new Random(1);
        Map<String, WeightTensor> t = new LinkedHashMap<>();
        t.put("a.weight", FlatFiles.random("a.weight", r, 4, 3));
        t.put("b.bias", FlatFiles.random("b.bias", r, 5));
        t.put("c.weight", FlatFiles.random("c.weight", r, 2, 1, 3, 3));
        Path p = tmp.resolve("base.safetensors");
        SafetensorsWriter.write(p, t, Map.of("format", "pt"));
        return p;
    }

    private Path baseSdj() {
        Random r = new Random(2);
        WeightMap unet = new WeightMap("unet");
        for (int i = 0; i < 4; i++) {
            WeightTensor w = FlatFiles.random("w" + i, r, 3 + i, 2);
            unet.put("block." + i + ".weight", () -> w);
        }
        ObjectNode cfg = JsonNodeFactory.instance.objectNode().put("_class_name", "UNet2DConditionModel");
        Path p = tmp.resolve("base.sdj");
        try (ImportedModel m = new ImportedModel("StableDiffusionPipeline", JsonNodeFactory.instance.objectNode().put("source", "fuzz"))
                .add("unet", cfg, unet).tokenizerFile("vocab.json", "{\"a\": 1}")) {
            ModelWriter.write(m, p, DType.F16, false, null);
        }
        return p;
    }

    /** One byte-level mutation: flips, overwrites, truncation, insertion, deletion, interesting integers. */
    static byte[] mutateBytes(byte[] in, Random r) {
        byte[] b = in.clone();
        switch (r.nextInt(7)) {
            case 0 -> { for (int k = 1 + r.nextInt(4); k > 0; k--) { int i = r.nextInt(b.length); b[i] ^= (byte) (1 << r.nextInt(8)); } }
            case 1 -> { for (int k = 1 + r.nextInt(8); k > 0; k--) b[r.nextInt(b.length)] = (byte) r.nextInt(256); }
            case 2 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
            case 3 -> {
                int at = r.nextInt(b.length), n = 1 + r.nextInt(16);
                byte[] o = new byte[b.length + n];
                System.arraycopy(b, 0, o, 0, at);
                for (int i = 0; i < n; i++) o[at + i] = (byte) r.nextInt(256);
                System.arraycopy(b, at, o, at + n, b.length - at);
                b = o;
            }
            case 4 -> {
                int at = r.nextInt(b.length), n = Math.min(b.length - at, 1 + r.nextInt(16));
                byte[] o = new byte[b.length - n];
                System.arraycopy(b, 0, o, 0, at);
                System.arraycopy(b, at + n, o, at, b.length - at - n);
                b = o;
            }
            case 5 -> { // an interesting 64-bit value in the preamble (lengths and offsets)
                long[] v = {0, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 32, 1L << 40, b.length, b.length + 1L, 7};
                int at = 8 * r.nextInt(Math.max(1, Math.min(6, b.length / 8)));
                if (at + 8 <= b.length) ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v[r.nextInt(v.length)]);
            }
            default -> { // an interesting 32-bit value anywhere
                int[] v = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 2, 3, 64};
                if (b.length >= 4) ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(r.nextInt(b.length - 3), v[r.nextInt(v.length)]);
            }
        }
        return b;
    }

    /** One structural mutation of a JSON header: values replaced by other types, huge or negative numbers, keys removed or added. */
    static void mutateJson(JsonNode root, Random r) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        JsonNode c = containers.get(r.nextInt(containers.size()));
        JsonNode[] values = {JsonNodeFactory.instance.numberNode(-1), JsonNodeFactory.instance.numberNode(Long.MAX_VALUE),
                JsonNodeFactory.instance.numberNode(new java.math.BigInteger("18446744073709551617")), JsonNodeFactory.instance.numberNode(1.5),
                JsonNodeFactory.instance.textNode("F64"), JsonNodeFactory.instance.textNode("x".repeat(300)), JsonNodeFactory.instance.nullNode(),
                JsonNodeFactory.instance.booleanNode(true), JsonNodeFactory.instance.arrayNode().add(1L << 40).add(1L << 40),
                JsonNodeFactory.instance.objectNode(), JsonNodeFactory.instance.numberNode(0)};
        if (c instanceof ObjectNode o && o.size() > 0) {
            List<String> keys = new ArrayList<>();
            o.fieldNames().forEachRemaining(keys::add);
            String k = keys.get(r.nextInt(keys.size()));
            switch (r.nextInt(3)) {
                case 0 -> o.remove(k);
                case 1 -> o.set(k, values[r.nextInt(values.length)]);
                default -> o.set("fuzz_" + r.nextInt(100), values[r.nextInt(values.length)]);
            }
        } else if (c instanceof ArrayNode a && a.size() > 0) {
            int i = r.nextInt(a.size());
            if (r.nextBoolean()) a.remove(i);
            else a.set(i, values[r.nextInt(values.length)]);
        }
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) collect(it.next(), out);
        }
    }

    /** Opens a mutant: success must read every tensor; failure must be a WeightsFormatException naming the file. */
    private static void expectCleanOutcome(Path file, String what, Consumer<Path> open) {
        try {
            open.accept(file);
        } catch (WeightsFormatException e) {
            assertThat(e.getMessage()).as(what).contains(file.toString());
            assertThat(e.getMessage().length()).as(what + ": message length").isLessThan(4000);
        } catch (Throwable t) {
            throw new AssertionError(what + ": " + file + " threw " + t, t);
        }
    }

    private static void readSafetensors(Path p) {
        try (Safetensors st = Safetensors.open(p)) {
            for (String n : st.names()) {
                WeightTensor w = st.weight(n);
                float[] v = w.toFloats();
                long numel = 1;
                for (int d : w.shape()) numel *= d;
                assertThat((long) v.length).isEqualTo(numel);
            }
        }
    }

    private static void readSdj(Path p) {
        try (ModelFile mf = ModelFile.open(p, true)) {
            for (TensorRecord t : mf.tensors()) mf.weight(t).toFloats();
        }
    }

    @Test
    void safetensorsMutants() throws IOException {
        byte[] base = Files.readAllBytes(baseSafetensors());
        Random r = new Random(20261206);
        long deadline = System.nanoTime() + 20_000_000_000L;
        for (int i = 0; i < MUTANTS && System.nanoTime() < deadline; i++) {
            byte[] m;
            if (i % 2 == 0) {
                m = mutateBytes(base, r);
            } else {   // structural: mutate the header JSON and re-frame it with a correct length
                int n = (int) ByteBuffer.wrap(base).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                JsonNode h = ModelFile.JSON.readTree(new String(base, 8, n, StandardCharsets.UTF_8));
                mutateJson(h, r);
                byte[] hb = ModelFile.JSON.writeValueAsBytes(h);
                m = ByteBuffer.allocate(8 + hb.length + base.length - 8 - n).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(hb.length).put(hb).put(base, 8 + n, base.length - 8 - n).array();
            }
            Path p = tmp.resolve("s" + i + ".safetensors");
            Files.write(p, m);
            expectCleanOutcome(p, "safetensors mutant " + i, ReaderFuzzTest::readSafetensors);
            Files.delete(p);
        }
    }

    @Test
    void sdjMutants() throws IOException {
        Path basePath = baseSdj();
        byte[] base = Files.readAllBytes(basePath);
        ObjectNode header = FlatFiles.readHeader(basePath);
        Random r = new Random(6122026);
        long deadline = System.nanoTime() + 20_000_000_000L;
        for (int i = 0; i < MUTANTS && System.nanoTime() < deadline; i++) {
            Path p = tmp.resolve("m" + i + ".sdj");
            if (i % 2 == 0) {
                Files.write(p, mutateBytes(base, r));
            } else {   // structural, with the header checksum recomputed (as a careless or hostile writer would)
                Files.write(p, base);
                ObjectNode h = header.deepCopy();
                mutateJson(h, r);
                FlatFiles.writeRawHeader(p, ModelFile.JSON.writeValueAsBytes(h));
            }
            expectCleanOutcome(p, "sdj mutant " + i, ReaderFuzzTest::readSdj);
            Files.delete(p);
        }
    }
}
