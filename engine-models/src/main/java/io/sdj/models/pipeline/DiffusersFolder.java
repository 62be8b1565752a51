package io.sdj.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightSource;
import io.sdj.weights.ImportedModel;
import io.sdj.weights.ModelSource;
import io.sdj.weights.Safetensors;
import io.sdj.weights.WeightMap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads a diffusers pipeline folder ({@code model_index.json} plus one sub-folder per component with
 * {@code config.json}/{@code scheduler_config.json} and a single {@code *.safetensors} weights file, and
 * {@code tokenizer/}) into a {@link ModelSource}, weights memory-mapped. Only the single-file safetensors layout is
 * read here; sharded or .bin weights need the weights importer.
 */
final class DiffusersFolder {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> WEIGHT_FILES = List.of("model.safetensors", "diffusion_pytorch_model.safetensors");
    private static final List<String> TOKENIZER_FILES = List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json");

    private DiffusersFolder() {}

    static boolean looksLikeOne(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve("model_index.json"));
    }

    static ModelSource open(Path dir) {
        JsonNode index = readJson(dir.resolve("model_index.json"));
        ObjectNode provenance = JSON.createObjectNode().put("source", dir.toString()).put("source_format", "diffusers");
        ImportedModel m = new ImportedModel(index.path("_class_name").asText("StableDiffusionPipeline"), provenance);
        try {
            for (var it = index.fields(); it.hasNext(); ) {
                var e = it.next();
                String name = e.getKey();
                if (name.startsWith("_") || !e.getValue().isArray() || e.getValue().path(0).isNull()) continue;
                Path sub = dir.resolve(name);
                if (name.startsWith("tokenizer")) {
                    String prefix = name.equals("tokenizer") ? "" : name + "/";
                    for (String f : TOKENIZER_FILES) {
                        Path p = sub.resolve(f);
                        if (Files.isRegularFile(p)) m.tokenizerFile(prefix + f, readString(p));
                    }
                    continue;
                }
                Path config = Files.isRegularFile(sub.resolve("config.json")) ? sub.resolve("config.json") : sub.resolve("scheduler_config.json");
                if (!Files.isRegularFile(config)) continue;
                WeightSource w = WeightMap.EMPTY;
                for (String f : WEIGHT_FILES) {
                    Path p = sub.resolve(f);
                    if (Files.isRegularFile(p)) { w = m.own(Safetensors.open(p)); break; }
                }
                m.add(name, readJson(config), w);
            }
            return m;
        } catch (RuntimeException ex) {
            m.close();
            throw ex;
        }
    }

    private static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new IllegalArgumentException(p + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(p + ": cannot read JSON: " + e.getMessage(), e);
        }
    }
}
