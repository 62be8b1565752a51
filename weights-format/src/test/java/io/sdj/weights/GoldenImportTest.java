package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.DType;
import io.sdj.core.WeightSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every golden fixture that has weights converts, and the converted tensors equal the fixture's safetensors. */
class GoldenImportTest {
    @TempDir
    Path tmp;

    private static final DType[] DTYPES = {null, DType.F32, DType.F16, DType.BF16, DType.I8};

    @Test
    void everyComponentCaseConverts() throws IOException {
        Path golden = Golden.dir();
        List<Path> cases = new ArrayList<>();
        try (Stream<Path> s = Files.list(golden)) {
            s.filter(d -> Files.isRegularFile(d.resolve("model.safetensors"))).sorted().forEach(cases::add);
        }
        assertThat(cases).as("golden cases with model.safetensors").hasSizeGreaterThanOrEqualTo(9);
        for (Path c : cases) {
            String component = ModelImporter.readJson(c.resolve("case.json")).get("component").asText();
            JsonNode config = ModelImporter.readJson(c.resolve("config.json"));
            for (DType dt : DTYPES) {
                Path out = tmp.resolve(c.getFileName() + "-" + dt + ".sdj");
                try (ModelSource src = ModelImporter.importFrom(c, new ModelImporter.Options(component, null))) {
                    assertThat(src.components()).containsExactly(component);
                    ModelWriter.write(src, out, dt, false, null);
                }
                try (Safetensors st = Safetensors.open(c.resolve("model.safetensors")); ModelFile mf = ModelFile.open(out, true)) {
                    assertThat(mf.components()).containsExactly(component);
                    assertThat(mf.config(component)).isEqualTo(config);
                    WeightSource w = mf.weights(component);
                    assertThat(w.names()).containsExactlyInAnyOrderElementsOf(st.names());
                    for (String n : st.names()) Golden.assertConverted(c.getFileName() + " " + n, st.weight(n), w.get(n), dt);
                }
                Files.delete(out);
            }
        }
    }

    @Test
    void pipelineConvertsAsDiffusersFolder() throws IOException {
        Path p = Golden.pipeline();
        for (DType dt : DTYPES) {
            Path out = tmp.resolve("pipeline-" + dt + ".sdj");
            try (ModelSource src = ModelImporter.importFrom(p)) {
                assertThat(src.kind()).isEqualTo("StableDiffusionPipeline");
                assertThat(src.components()).containsExactlyInAnyOrder("text_encoder", "unet", "vae", "scheduler");
                ModelWriter.write(src, out, dt, false, null);
            }
            try (ModelFile mf = ModelFile.open(out, true)) {
                assertThat(mf.kind()).isEqualTo("StableDiffusionPipeline");
                assertThat(mf.provenance().get("source_format").asText()).isEqualTo("diffusers");
                assertThat(mf.config("scheduler")).isEqualTo(ModelImporter.readJson(p.resolve("scheduler/scheduler_config.json")));
                assertThat(mf.weights("scheduler").names()).isEmpty();
                for (String f : List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json")) {
                    assertThat(mf.tokenizerFiles().get(f)).as(f).isEqualTo(Files.readString(p.resolve("tokenizer").resolve(f)));
                }
                for (String[] c : new String[][]{{"text_encoder", "model.safetensors"}, {"unet", "diffusion_pytorch_model.safetensors"},
                        {"vae", "diffusion_pytorch_model.safetensors"}}) {
                    assertThat(mf.config(c[0])).isEqualTo(ModelImporter.readJson(p.resolve(c[0]).resolve("config.json")));
                    try (Safetensors st = Safetensors.open(p.resolve(c[0]).resolve(c[1]))) {
                        WeightSource w = mf.weights(c[0]);
                        assertThat(w.names()).containsExactlyInAnyOrderElementsOf(st.names());
                        for (String n : st.names()) Golden.assertConverted(c[0] + "/" + n, st.weight(n), w.get(n), dt);
                    }
                }
            }
        }
    }
}
