package io.sdj.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Importing tensors of every safetensors dtype: float8 widened, unread integer buffers skipped, the rest refused. */
class ImportDtypesTest {
    @TempDir
    Path tmp;

    /** Writes a safetensors file from raw tensors: name → (dtype, shape, bytes). */
    private Path raw(String file, Map<String, Object[]> tensors) throws IOException {
        StringBuilder h = new StringBuilder("{");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (var e : tensors.entrySet()) {
            String dtype = (String) e.getValue()[0];
            int[] shape = (int[]) e.getValue()[1];
            byte[] bytes = (byte[]) e.getValue()[2];
            if (h.length() > 1) h.append(',');
            h.append('"').append(e.getKey()).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":")
                    .append(java.util.Arrays.toString(shape).replace(" ", "")).append(",\"data_offsets\":[")
                    .append(data.size()).append(',').append(data.size() + bytes.length).append("]}");
            data.write(bytes);
        }
        byte[] hb = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + hb.length + data.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(hb.length).put(hb).put(data.toByteArray());
        Path p = tmp.resolve(file);
        Files.write(p, b.array());
        return p;
    }

    @Test
    void float8ValuesDecodeExactly() {
        assertThat(Float8.E4M3[0x38]).isEqualTo(1.0f);
        assertThat(Float8.E4M3[0x7E]).isEqualTo(448f);
        assertThat(Float8.E4M3[0xFE]).isEqualTo(-448f);
        assertThat(Float8.E4M3[0x01]).isEqualTo((float) Math.pow(2, -9));
        assertThat(Float8.E4M3[0x7F]).isNaN();
        assertThat(Float8.E4M3[0x80]).isEqualTo(-0.0f);
        assertThat(Float8.E5M2[0x3C]).isEqualTo(1.0f);
        assertThat(Float8.E5M2[0x7B]).isEqualTo(57344f);
        assertThat(Float8.E5M2[0x7C]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Float8.E5M2[0x7D]).isNaN();
        assertThat(Float8.E5M2[0x01]).isEqualTo((float) Math.pow(2, -16));
        // every finite E4M3 value round-trips through its bits: value = (-1)^s · 2^(e-7) · (1 + m/8)
        for (int b = 0; b < 256; b++) {
            int e = (b >>> 3) & 15, m = b & 7;
            if (e == 15 && m == 7) continue;
            double v = e == 0 ? Math.pow(2, -6) * m / 8.0 : Math.pow(2, e - 7) * (1 + m / 8.0);
            assertThat((double) Float8.E4M3[b]).as("E4M3 0x%02x", b).isEqualTo((b & 0x80) != 0 ? -v : v);
        }
    }

    @Test
    void float8WeightsAreWidenedAndIntegerBuffersSkippedWithAWarning() throws IOException {
        Map<String, Object[]> t = new LinkedHashMap<>();
        t.put("w8.weight", new Object[]{"F8_E4M3", new int[]{2, 2}, new byte[]{0x38, (byte) 0xB8, 0x7E, 0x01}});
        t.put("w5.weight", new Object[]{"F8_E5M2", new int[]{2}, new byte[]{0x3C, 0x40}});
        t.put("text_model.embeddings.position_ids", new Object[]{"I64", new int[]{1, 2}, new byte[16]});
        Path st = raw("model.safetensors", t);
        try (ModelSource src = ModelImporter.importFrom(st, new ModelImporter.Options("text_encoder", null))) {
            var w = src.weights("text_encoder");
            assertThat(w.names()).containsExactlyInAnyOrder("w8.weight", "w5.weight");
            assertThat(w.get("w8.weight").toFloats()).containsExactly(1f, -1f, 448f, (float) Math.pow(2, -9));
            assertThat(w.get("w5.weight").toFloats()).containsExactly(1f, 2f);
            assertThat(src.provenance().get("dropped_tensors").toString()).contains("text_model.embeddings.position_ids");
            ModelWriter.write(src, tmp.resolve("out.sdj"), null, false, null);
        }
        try (ModelFile mf = ModelFile.open(tmp.resolve("out.sdj"), true)) {
            assertThat(mf.weights("text_encoder").get("w8.weight").toFloats()).containsExactly(1f, -1f, 448f, (float) Math.pow(2, -9));
        }
    }

    @Test
    void otherNonFloatTensorsAreAnErrorNamingThem() throws IOException {
        Map<String, Object[]> t = new LinkedHashMap<>();
        t.put("a.weight", new Object[]{"F32", new int[]{1}, new byte[4]});
        t.put("quant.qweight", new Object[]{"U8", new int[]{4}, new byte[4]});
        Path st = raw("q.safetensors", t);
        assertThatThrownBy(() -> ModelImporter.importFrom(st, new ModelImporter.Options("unet", null)))
                .isInstanceOf(WeightsFormatException.class).hasMessageContaining("'quant.qweight'").hasMessageContaining("U8");
        Map<String, Object[]> d = new LinkedHashMap<>();
        d.put("a.weight", new Object[]{"F64", new int[]{1}, new byte[8]});
        Path f64 = raw("d.safetensors", d);
        assertThatThrownBy(() -> ModelImporter.importFrom(f64, new ModelImporter.Options("unet", null)))
                .isInstanceOf(WeightsFormatException.class).hasMessageContaining("'a.weight'").hasMessageContaining("F64");
    }
}
