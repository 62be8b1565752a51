package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Pickled checkpoints against the golden cases ckpt-sd1-tiny (bit-exact) and ckpt-hostile (all refused). */
class TorchCheckpointGoldenTest {
    @TempDir
    Path tmp;

    private static JsonNode caseJson(Path dir) throws IOException {
        return ModelFile.JSON.readTree(Files.readString(dir.resolve("case.json")));
    }

    @Test
    void everyBenignFileGivesExactlyTheExpectedTensors() throws IOException {
        Path dir = Golden.dir().resolve("ckpt-sd1-tiny");
        JsonNode c = caseJson(dir);
        assertThat(c.path("files").size()).isEqualTo(4);
        for (JsonNode f : c.path("files")) {
            String file = f.path("file").asText();
            try (TorchCheckpoint ck = TorchCheckpoint.open(dir.resolve(file));
                 Safetensors exp = Safetensors.open(dir.resolve(f.path("expected").asText()))) {
                assertThat(ck.format()).as(file).isEqualTo(f.path("format").asText());
                assertThat(ck.names()).as(file).containsExactlyInAnyOrderElementsOf(exp.names());
                assertThat(ck.names()).hasSize(c.path("counts").path("tensors").asInt());
                for (String n : exp.names()) {
                    assertThat(ck.dtype(n)).as(file + " " + n).isEqualTo(exp.dtype(n));
                    assertThat(ck.shape(n)).as(file + " " + n).isEqualTo(exp.shape(n));
                    MemorySegment a = ck.bytes(n), b = exp.bytes(n);
                    assertThat(a.byteSize()).as(file + " " + n).isEqualTo(b.byteSize());
                    assertThat(a.mismatch(b)).as(file + " " + n + " first differing byte").isEqualTo(-1L);
                }
            }
        }
    }

    @Test
    void zipTensorsAreSlicesOfTheMappedFile() {
        Path dir = Golden.dir().resolve("ckpt-sd1-tiny");
        try (TorchCheckpoint ck = TorchCheckpoint.open(dir.resolve("model-f32.ckpt"))) {
            assertThat(ck.bytes("betas").isMapped()).isTrue();
            // the [1,77] position_ids view is contiguous as well
            assertThat(ck.bytes("cond_stage_model.transformer.text_model.embeddings.position_ids").isMapped()).isTrue();
        }
    }

    @Test
    void everyHostileFileIsRefusedAndRunsNothing() throws IOException {
        Path dir = Golden.dir().resolve("ckpt-hostile");
        JsonNode c = caseJson(dir);
        List<String> refused = new ArrayList<>();
        for (JsonNode f : c.path("files")) {
            Path file = dir.resolve(f.path("file").asText());
            String marker = f.path("marker").isTextual() ? f.path("marker").asText() : null;
            if (marker != null) Files.deleteIfExists(Path.of(marker));
            assertThatThrownBy(() -> TorchCheckpoint.open(file).close()).as(file.toString())
                    .isInstanceOf(WeightsFormatException.class)
                    .hasMessageStartingWith(file.toString());
            if (marker != null) assertThat(Path.of(marker)).as("marker of " + file).doesNotExist();
            refused.add(f.path("file").asText());
        }
        assertThat(refused).hasSize(11);
    }

    @Test
    void hostileRefusalsNameTheProblem() {
        Path dir = Golden.dir().resolve("ckpt-hostile");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir.resolve("reduce-os-system.ckpt"))).hasMessageContaining("forbidden global os.system");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir.resolve("stack-global.ckpt"))).hasMessageContaining("forbidden global os.system");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir.resolve("builtins-eval.ckpt"))).hasMessageContaining("forbidden global builtins.eval");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir.resolve("inst-opcode.ckpt"))).hasMessageContaining("opcode 'i'");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir.resolve("missing-storage.ckpt"))).hasMessageContaining("data/7 missing").hasMessageContaining("tensor '");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir.resolve("short-storage.ckpt"))).hasMessageContaining("64 bytes for 4096 elements").hasMessageContaining("tensor '");
        assertThatThrownBy(() -> TorchCheckpoint.open(dir.resolve("huge-declared-size.ckpt"))).hasMessageContaining("compressed (method 8)");
    }

    @Test
    void corruptFilesNameTheMember() throws IOException {
        Path src = Golden.dir().resolve("ckpt-sd1-tiny").resolve("model-f16.ckpt");
        byte[] all = Files.readAllBytes(src);
        Path truncated = tmp.resolve("truncated.ckpt");
        Files.write(truncated, java.util.Arrays.copyOf(all, all.length / 2));
        assertThatThrownBy(() -> TorchCheckpoint.open(truncated)).isInstanceOf(WeightsFormatException.class)
                .hasMessageContaining("truncated.ckpt").hasMessageContaining("zip");
        Path garbage = tmp.resolve("garbage.pth");
        Files.write(garbage, "hello, not a checkpoint".getBytes());
        assertThatThrownBy(() -> TorchCheckpoint.open(garbage)).hasMessageContaining("not a PyTorch checkpoint");
        // a renamed member: the local header no longer matches the central directory
        byte[] renamed = all.clone();
        byte[] needle = "archive/data.pkl".getBytes();
        int at = indexOf(renamed, needle, 0);
        renamed[at + 8] = 'X';
        Path bad = tmp.resolve("renamed.ckpt");
        Files.write(bad, renamed);
        assertThatThrownBy(() -> TorchCheckpoint.open(bad)).hasMessageContaining("archive/data.pkl");
        // the legacy file cut inside its storage records
        byte[] legacy = Files.readAllBytes(Golden.dir().resolve("ckpt-sd1-tiny").resolve("model-legacy.ckpt"));
        Path shortLegacy = tmp.resolve("short-legacy.ckpt");
        Files.write(shortLegacy, java.util.Arrays.copyOf(legacy, legacy.length - 100));
        assertThatThrownBy(() -> TorchCheckpoint.open(shortLegacy)).hasMessageContaining("storage ");
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }

    @Test
    void importsAsAnLdmCheckpointLikeItsSafetensorsTwin() {
        Path dir = Golden.dir().resolve("ckpt-sd1-tiny");
        try (ModelSource m = ModelImporter.importFrom(dir.resolve("model-f32.ckpt"));
             ModelSource base = ModelImporter.importFrom(Golden.pipeline())) {
            assertThat(m.components()).contains("unet", "vae", "text_encoder");
            for (String comp : List.of("unet", "vae", "text_encoder")) {
                var got = m.weights(comp);
                var want = base.weights(comp);
                assertThat(got.names()).as(comp).containsExactlyInAnyOrderElementsOf(want.names());
                for (String n : want.names()) {
                    assertThat(got.get(n).shape()).as(comp + " " + n).isEqualTo(want.get(n).shape());
                    assertThat(got.get(n).data().mismatch(want.get(n).data())).as(comp + " " + n).isEqualTo(-1L);
                }
            }
        }
    }

    @Test
    void taesdPthFilesImportAsTheirComponent() {
        try (ModelSource dec = ModelImporter.importFrom(Golden.dir().resolve("taesd-pool-decoder/taesd_decoder.pth"));
             ModelSource enc = ModelImporter.importFrom(Golden.dir().resolve("taesd-pool-encoder/taesd_encoder.pth"));
             Safetensors ref = Safetensors.open(Golden.dir().resolve("taesd-pool-decoder/model.safetensors"))) {
            assertThat(dec.components()).containsExactly("taesd_decoder");
            assertThat(enc.components()).containsExactly("taesd_encoder");
            assertThat(dec.weights("taesd_decoder").names()).containsExactlyInAnyOrderElementsOf(ref.names());
            float[] want = ref.floats("3.pool.0.weight");
            assertThat(dec.weights("taesd_decoder").get("3.pool.0.weight").toFloats()).containsExactly(want);
        }
    }
}
