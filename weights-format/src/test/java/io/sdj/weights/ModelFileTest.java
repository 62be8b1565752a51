package io.sdj.weights;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.DType;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelFileTest {
    @TempDir
    Path tmp;

    private static final int[][] SHAPES = {{1}, {3}, {17}, {77, 3}, {5, 3, 3, 3}, {1000}, {3, 1}, {2, 0}};

    private ImportedModel sample() {
        Random r = new Random(42);
        WeightMap unet = new WeightMap("unet");
        for (int i = 0; i < SHAPES.length; i++) {
            WeightTensor t = FlatFiles.random("t" + i, r, SHAPES[i]);
            unet.put("block." + i + ".weight", () -> t);
        }
        WeightMap te = new WeightMap("te");
        WeightTensor emb = FlatFiles.random("emb", r, 11, 7);
        te.put("text_model.embeddings.token_embedding.weight", () -> emb);
        ObjectNode cfg = JsonNodeFactory.instance.objectNode().put("_class_name", "UNet2DConditionModel").put("norm_eps", 1e-5);
        cfg.putArray("block_out_channels").add(16).add(32);
        ObjectNode sched = JsonNodeFactory.instance.objectNode().put("_class_name", "DDIMScheduler").put("beta_start", 0.00085);
        return new ImportedModel("StableDiffusionPipeline", JsonNodeFactory.instance.objectNode().put("source", "test"))
                .add("text_encoder", JsonNodeFactory.instance.objectNode().put("hidden_size", 7), te)
                .add("unet", cfg, unet)
                .add("scheduler", sched, WeightMap.EMPTY)
                .tokenizerFile("vocab.json", "{\"a\": 1, \"é\": 2}")
                .tokenizerFile("merges.txt", "#version: 0.2\na b\n");
    }

    private Path write(DType dtype) {
        Path p = tmp.resolve("m-" + dtype + ".sdj");
        try (ImportedModel m = sample()) {
            ModelWriter.write(m, p, dtype, false, null);
        }
        return p;
    }

    /** Independent round-to-nearest-even bfloat16 reference: pick the nearer of the two neighbours, ties to even. */
    static float bf16Reference(float x) {
        int bits = Float.floatToRawIntBits(x);
        int lo = bits & 0xFFFF0000, hi = lo + 0x10000;
        double dl = Math.abs((double) Float.intBitsToFloat(lo) - x), dh = Math.abs((double) Float.intBitsToFloat(hi) - x);
        if (dl < dh) return Float.intBitsToFloat(lo);
        if (dh < dl) return Float.intBitsToFloat(hi);
        return Float.intBitsToFloat(((lo >>> 16) & 1) == 0 ? lo : hi);
    }

    @Test
    void roundTripsEveryDtype() {
        for (DType dt : new DType[]{null, DType.F32, DType.F16, DType.BF16, DType.I8}) {
            Path p = write(dt);
            try (ImportedModel src = sample(); ModelFile mf = ModelFile.open(p, true)) {
                assertThat(mf.kind()).isEqualTo("StableDiffusionPipeline");
                assertThat(mf.components()).containsExactly("text_encoder", "unet", "scheduler");
                assertThat(mf.config("unet")).isEqualTo(src.config("unet"));
                assertThat(mf.config("scheduler").get("beta_start").asDouble()).isEqualTo(0.00085);
                assertThat(mf.tokenizerFiles()).isEqualTo(src.tokenizerFiles());
                assertThat(mf.provenance().get("source").asText()).isEqualTo("test");
                assertThat(mf.weights("scheduler").names()).isEmpty();
                assertThat(mf.verify()).isEmpty();
                for (String c : List.of("text_encoder", "unet")) {
                    WeightSource a = src.weights(c), b = mf.weights(c);
                    assertThat(b.names()).containsExactlyElementsOf(a.names());
                    for (String n : a.names()) {
                        WeightTensor x = a.get(n), y = b.get(n);
                        assertThat(y.name()).isEqualTo(n);
                        assertThat(y.shape()).isEqualTo(x.shape());
                        assertThat(y.data().address() % FlatFormat.ALIGNMENT).isZero();
                        DType expected = dt == null ? DType.F32 : (dt == DType.I8 && x.shape().length < 2 ? DType.F32 : dt);
                        assertThat(y.dtype()).as(n).isEqualTo(expected);
                        for (long i = 0; i < x.numel(); i++) {
                            float v = x.get(i), w = y.get(i);
                            switch (expected) {
                                case F32 -> assertThat(Float.floatToRawIntBits(w)).isEqualTo(Float.floatToRawIntBits(v));
                                case F16 -> {
                                    // one float16 rounding step: half an f16 ulp (10 mantissa bits; subnormal spacing 2^-24)
                                    double ulp16 = Math.max(Math.ulp(Math.abs(w)) * 8192.0, 0x1p-24);
                                    assertThat((double) Math.abs(w - v)).as(n + "[" + i + "]").isLessThanOrEqualTo(ulp16 / 2);
                                    assertThat(Float.floatToFloat16(w)).isEqualTo(Float.floatToFloat16(v));
                                }
                                case BF16 -> assertThat(w).as(n + "[" + i + "]").isEqualTo(bf16Reference(v));
                                case I8 -> {
                                    float scale = y.scales()[(int) (i / (x.numel() / x.shape()[0]))];
                                    double max = 0;
                                    long row = i / (x.numel() / x.shape()[0]), len = x.numel() / x.shape()[0];
                                    for (long k = row * len; k < (row + 1) * len; k++) max = Math.max(max, Math.abs(x.get(k)));
                                    assertThat((double) scale).isCloseTo(max / 127, org.assertj.core.data.Offset.offset(1e-9 + max * 1e-7));
                                    assertThat((double) Math.abs(w - v)).as(n + "[" + i + "]").isLessThanOrEqualTo(scale / 2.0 + Math.ulp(w) / 2.0);
                                }
                                default -> throw new AssertionError();
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void f16RoundsHalfwayToEven() throws IOException {
        // 1 + 2^-11 is exactly halfway between 1 and 1 + 2^-10 in float16: even mantissa wins (1.0);
        // 1 + 3·2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: even is 1 + 2^-9.
        float a = 1f + 0x1p-11f, b = 1f + 3 * 0x1p-11f;
        WeightMap w = new WeightMap("x").put("v", () -> WeightTensor.ofFloats("v", new float[]{a, b, -a}, 3));
        Path p = tmp.resolve("rne.sdj");
        try (ImportedModel m = new ImportedModel("x", JsonNodeFactory.instance.objectNode()).add("c", JsonNodeFactory.instance.objectNode(), w)) {
            ModelWriter.write(m, p, DType.F16, false, null);
        }
        try (ModelFile mf = ModelFile.open(p)) {
            WeightTensor t = mf.weights("c").get("v");
            assertThat(t.get(0)).isEqualTo(1f);
            assertThat(t.get(1)).isEqualTo(1f + 0x1p-9f);
            assertThat(t.get(2)).isEqualTo(-1f);
        }
    }

    /** Half-precision sources: kept bit for bit, widened exactly, re-rounded to BF16 once, quantised within scale/2. */
    @Test
    void halfPrecisionSources() {
        Random r = new Random(7);
        short[] h = new short[17 * 3];
        short[] b = new short[17 * 3];
        for (int i = 0; i < h.length; i++) {
            float v = (float) r.nextGaussian() * (i % 5 == 0 ? 100 : 0.01f);
            h[i] = Float.floatToFloat16(v);
            b[i] = DType.floatToBf16(v);
        }
        WeightTensor f16 = new WeightTensor("h", DType.F16, new int[]{17, 3}, java.lang.foreign.MemorySegment.ofArray(h), null);
        WeightTensor bf16 = new WeightTensor("b", DType.BF16, new int[]{17, 3}, java.lang.foreign.MemorySegment.ofArray(b), null);
        for (DType dt : new DType[]{null, DType.F32, DType.F16, DType.BF16, DType.I8}) {
            Path p = tmp.resolve("half-" + dt + ".sdj");
            WeightMap w = new WeightMap("half").put("h", () -> f16).put("b", () -> bf16);
            try (ImportedModel m = new ImportedModel("x", JsonNodeFactory.instance.objectNode()).add("c", JsonNodeFactory.instance.objectNode(), w)) {
                ModelWriter.write(m, p, dt, false, null);
            }
            try (ModelFile mf = ModelFile.open(p, true)) {
                for (WeightTensor src : List.of(f16, bf16)) {
                    WeightTensor got = mf.weights("c").get(src.name());
                    DType stored = dt == null ? src.dtype() : dt;
                    assertThat(got.dtype()).isEqualTo(stored);
                    for (int i = 0; i < src.numel(); i++) {
                        float v = src.get(i), g = got.get(i);
                        switch (stored) {
                            case I8 -> assertThat((double) Math.abs(g - v)).isLessThanOrEqualTo(got.scales()[i / 3] / 2.0 + Math.ulp(g) / 2.0);
                            case BF16 -> assertThat(g).isEqualTo(bf16Reference(v));
                            case F16 -> assertThat(Float.floatToFloat16(g)).isEqualTo(Float.floatToFloat16(v));
                            case F32 -> assertThat(g).isEqualTo(v);
                        }
                    }
                    if (stored == src.dtype()) {
                        assertThat(got.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(src.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                    }
                }
            }
            try (ModelSource any = ModelSource.open(p)) {
                assertThat(any).isInstanceOf(ModelFile.class);
            }
        }
    }

    private Path valid() throws IOException {
        Path src = write(DType.F32);
        Path p = tmp.resolve("case-" + System.nanoTime() + ".sdj");
        Files.copy(src, p);
        return p;
    }

    @Test
    void wrongMagic() throws IOException {
        Path p = valid();
        byte[] b = Files.readAllBytes(p);
        b[0] = 'X';
        Files.write(p, b);
        assertThatThrownBy(() -> ModelFile.open(p)).isInstanceOf(WeightsFormatException.class)
                .hasMessageContaining(p.toString()).hasMessageContaining("wrong magic");
        Path small = tmp.resolve("small.bin");
        Files.writeString(small, "hello, world");
        assertThatThrownBy(() -> ModelFile.open(small)).hasMessageContaining("wrong magic");
    }

    @Test
    void unsupportedVersion() throws IOException {
        Path p = valid();
        byte[] b = Files.readAllBytes(p);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 3);
        Files.write(p, b);
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining(p.toString()).hasMessageContaining("unsupported format version 3");
    }

    @Test
    void truncated() throws IOException {
        Path p = valid();
        byte[] b = Files.readAllBytes(p);
        Files.write(p, java.util.Arrays.copyOf(b, b.length - 10));
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining(p.toString()).hasMessageContaining("truncated");
        Files.write(p, java.util.Arrays.copyOf(b, 100));
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining("truncated");
        Files.write(p, java.util.Arrays.copyOf(b, 20));
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining("truncated");
    }

    private static ObjectNode tensor(ObjectNode h, String name) {
        for (var t : h.get("tensors")) if (t.get("name").asText().equals(name)) return (ObjectNode) t;
        throw new AssertionError(name);
    }

    @Test
    void offsetOutOfRange() throws IOException {
        Path p = valid();
        FlatFiles.editHeader(p, h -> tensor(h, "block.5.weight").put("offset", 1L << 40));
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining(p.toString())
                .hasMessageContaining("unet/block.5.weight").hasMessageContaining("out of range");
    }

    @Test
    void misalignedOffset() throws IOException {
        Path p = valid();
        FlatFiles.editHeader(p, h -> tensor(h, "block.1.weight").put("offset", tensor(h, "block.1.weight").get("offset").asLong() + 4));
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining("unet/block.1.weight").hasMessageContaining("multiple of 64");
    }

    @Test
    void overlapping() throws IOException {
        Path p = valid();
        FlatFiles.editHeader(p, h -> tensor(h, "block.2.weight").put("offset", tensor(h, "block.1.weight").get("offset").asLong()));
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining(p.toString())
                .hasMessageContaining("overlaps").hasMessageContaining("unet/block.1.weight").hasMessageContaining("unet/block.2.weight");
    }

    @Test
    void shapeTimesDtypeDiffersFromLength() throws IOException {
        Path p = valid();
        FlatFiles.editHeader(p, h -> tensor(h, "block.3.weight").putArray("shape").add(77).add(4));
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining(p.toString())
                .hasMessageContaining("unet/block.3.weight").hasMessageContaining("[77,4]").hasMessageContaining("length of 924");
    }

    @Test
    void unknownDtype() throws IOException {
        Path p = valid();
        FlatFiles.editHeader(p, h -> tensor(h, "block.0.weight").put("dtype", "Q4_K"));
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining(p.toString())
                .hasMessageContaining("unet/block.0.weight").hasMessageContaining("unknown dtype 'Q4_K'");
    }

    @Test
    void malformedHeaderJson() throws IOException {
        Path p = valid();
        FlatFiles.writeRawHeader(p, "{\"kind\": \"x\", \"components\": {".getBytes());
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining(p.toString()).hasMessageContaining("header JSON is malformed");
        FlatFiles.writeRawHeader(p, "[1, 2]".getBytes());
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining("not a JSON object");
    }

    @Test
    void checksumMismatchNamesTheTensor() throws IOException {
        Path p = valid();
        long at;
        try (ModelFile mf = ModelFile.open(p)) {
            TensorRecord t = mf.tensors("unet").get("block.4.weight");
            at = FlatFiles.readHeader(p).size() >= 0 ? dataOffset(p) + t.offset() + 13 : 0;
        }
        byte[] b = Files.readAllBytes(p);
        b[(int) at] ^= 0x01;
        Files.write(p, b);
        try (ModelFile mf = ModelFile.open(p)) {
            assertThat(mf.verify()).singleElement().satisfies(m -> assertThat(m.tensor().qualifiedName()).isEqualTo("unet/block.4.weight"));
        }
        assertThatThrownBy(() -> ModelFile.open(p, true)).hasMessageContaining(p.toString())
                .hasMessageContaining("'unet/block.4.weight' is corrupted");
    }

    private static long dataOffset(Path p) throws IOException {
        byte[] b = Files.readAllBytes(p);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(24);
    }

    @Test
    void refusesToOverwrite() throws IOException {
        Path p = write(DType.F32);
        long before = Files.size(p);
        try (ImportedModel m = sample()) {
            assertThatThrownBy(() -> ModelWriter.write(m, p, DType.F16, false, null)).hasMessageContaining("already exists");
            assertThat(Files.size(p)).isEqualTo(before);
            ModelWriter.write(m, p, DType.F16, true, null);
        }
        assertThat(Files.size(p)).isLessThan(before);
        try (var s = Files.list(tmp)) {
            assertThat(s.map(x -> x.getFileName().toString())).noneMatch(n -> n.contains(".partial-"));
        }
    }

    @Test
    void offsetArithmeticIsLong() {
        assertThat(FlatFormat.alignUp(0)).isZero();
        assertThat(FlatFormat.alignUp(1)).isEqualTo(64);
        assertThat(FlatFormat.alignUp(64)).isEqualTo(64);
        assertThat(FlatFormat.alignUp((1L << 31) + 1)).isEqualTo((1L << 31) + 64);
        assertThat(FlatFormat.alignUp(5L << 32)).isEqualTo(5L << 32);
        assertThat(FlatFormat.byteLength(new long[]{49408, 1024, 64}, 4)).isEqualTo(49408L * 1024 * 64 * 4);
        assertThatThrownBy(() -> FlatFormat.byteLength(new long[]{1L << 40, 1L << 40}, 4)).isInstanceOf(ArithmeticException.class);
        assertThatThrownBy(() -> FlatFormat.alignUp(Long.MAX_VALUE)).isInstanceOf(ArithmeticException.class);
    }

    /** A sparse file with a tensor beyond 4 GiB: mapped, read and checksummed through long offsets. */
    @Test
    void tensorBeyondFourGiB() throws IOException {
        long offset = (4L << 30) + 64 * 3;
        int n = 100;
        ByteBuffer data = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) data.putFloat(i * 0.25f - 3);
        CRC32C crc = new CRC32C();
        crc.update(data.array());
        String header = "{\"kind\":\"x\",\"components\":{\"c\":{\"config\":{}}},\"tensors\":[{\"component\":\"c\",\"name\":\"far.weight\","
                + "\"dtype\":\"F32\",\"shape\":[10,10],\"offset\":" + offset + ",\"length\":400,\"crc32c\":\"" + FlatFormat.crcHex(crc.getValue()) + "\"}]}";
        byte[] hb = header.getBytes();
        long dataOffset = FlatFormat.dataOffset(hb.length), dataLength = offset + 400;
        Path p = tmp.resolve("sparse.sdj");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            ByteBuffer pre = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
            pre.put(FlatFormat.MAGIC).putInt(1).putInt(0).putLong(hb.length).putLong(dataOffset).putLong(dataLength);
            f.write(pre.array());
            f.write(hb);
            f.setLength(dataOffset + dataLength);
            f.seek(dataOffset + offset);
            f.write(data.array());
        }
        try (ModelFile mf = ModelFile.open(p, true)) {
            assertThat(mf.fileSize()).isGreaterThan(4L << 30);
            WeightTensor t = mf.weights("c").get("far.weight");
            assertThat(t.get(0)).isEqualTo(-3f);
            assertThat(t.get(99)).isEqualTo(99 * 0.25f - 3);
            assertThat(t.toFloats()[42]).isEqualTo(42 * 0.25f - 3);
        } finally {
            Files.delete(p);
        }
    }

    /** Version 2 checks the header JSON against its CRC32C at open: every bit flip in the header is caught. */
    @Test
    void everyHeaderBitFlipIsCaught() throws IOException {
        Path p = valid();
        byte[] good = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(8)).isEqualTo(FlatFormat.VERSION);
        int headerLength = (int) b.getLong(16);
        try (ModelFile mf = ModelFile.open(p)) {
            assertThat(mf.headerChecksummed()).isTrue();
            assertThat(mf.formatVersion()).isEqualTo(2);
        }
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < 40; i++) {
            byte[] bad = good.clone();
            int at = FlatFormat.PREAMBLE_BYTES + r.nextInt(headerLength);
            bad[at] ^= (byte) (1 << r.nextInt(8));
            Files.write(p, bad);
            assertThatThrownBy(() -> ModelFile.open(p)).as("flip at " + at).isInstanceOf(WeightsFormatException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("header is corrupted");
        }
    }

    /** A version 1 file (no header checksum) is still read, and says its header is unchecked. */
    @Test
    void versionOneFilesAreReadUnchecked() throws IOException {
        Path p = valid();
        byte[] v2 = Files.readAllBytes(p);
        ByteBuffer b = ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) b.getLong(16);
        long dataOffset = b.getLong(24), dataLength = b.getLong(32);
        long newOffset = FlatFormat.alignUp(FlatFormat.PREAMBLE_BYTES_V1 + headerLength);
        ByteBuffer v1 = ByteBuffer.allocate((int) (newOffset + dataLength)).order(ByteOrder.LITTLE_ENDIAN);
        v1.put(FlatFormat.MAGIC).putInt(1).putInt(0).putLong(headerLength).putLong(newOffset).putLong(dataLength);
        v1.put(v2, FlatFormat.PREAMBLE_BYTES, headerLength);
        v1.position((int) newOffset);
        v1.put(v2, (int) dataOffset, (int) dataLength);
        Files.write(p, v1.array());
        try (ModelFile mf = ModelFile.open(p, true)) {
            assertThat(mf.formatVersion()).isEqualTo(1);
            assertThat(mf.headerChecksummed()).isFalse();
            assertThat(mf.verify()).isEmpty();
            assertThat(mf.tensors("unet")).containsKey("block.4.weight");
        }
    }

    @Test
    void headerMustBeOneJsonObjectInValidUtf8() throws IOException {
        Path p = valid();
        Path q = Files.copy(p, tmp.resolve("copy.sdj"));
        byte[] header = ModelFile.JSON.writeValueAsBytes(FlatFiles.readHeader(p));
        byte[] trailing = java.util.Arrays.copyOf(header, header.length + 3);
        trailing[header.length] = 'x';
        trailing[header.length + 1] = 'y';
        trailing[header.length + 2] = 'z';
        FlatFiles.writeRawHeader(p, trailing);
        assertThatThrownBy(() -> ModelFile.open(p)).hasMessageContaining(p.toString()).hasMessageContaining("after the header JSON");
        String text = new String(ModelFile.JSON.writeValueAsBytes(FlatFiles.readHeader(q)), java.nio.charset.StandardCharsets.UTF_8)
                .replace("block.4.weight", "block.4.weigh\u00ff");
        FlatFiles.writeRawHeader(q, text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> ModelFile.open(q)).hasMessageContaining(q.toString()).hasMessageContaining("UTF-8");
    }

    @Test
    void hugeShapesAndNamesGiveShortErrorsNamingTheTensor() throws IOException {
        Path p = valid();
        Path q = Files.copy(p, tmp.resolve("copy.sdj"));
        FlatFiles.editHeader(p, h -> tensor(h, "block.3.weight").putArray("shape").add(1L << 40).add(1L << 40));
        assertThatThrownBy(() -> ModelFile.open(p)).isInstanceOf(WeightsFormatException.class)
                .hasMessageContaining("unet/block.3.weight").hasMessageContaining("overflows");
        FlatFiles.editHeader(q, h -> tensor(h, "block.3.weight").put("name", "w".repeat(40_000)).put("dtype", "Q4"));
        assertThatThrownBy(() -> ModelFile.open(q)).isInstanceOf(WeightsFormatException.class)
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(2000)).hasMessageContaining("40005 characters");
    }
}
