package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.WeightSource;

import java.util.List;
import java.util.Map;

/**
 * A whole model as the engine sees it, wherever it comes from (a flat {@link ModelFile}, or a diffusers folder,
 * component folder or checkpoint read by {@link ModelImporter}): per component its upstream config and its weights
 * by upstream key, plus the tokenizer files.
 */
public interface ModelSource extends AutoCloseable {
    /** What the model is: the pipeline class ({@code StableDiffusionPipeline}) or, for one component, its class. */
    String kind();

    /** Component names in order ({@code text_encoder}, {@code unet}, {@code vae}, {@code scheduler}, ...). */
    List<String> components();

    /** The component's upstream config (config.json / scheduler_config.json), as upstream wrote it. */
    JsonNode config(String component);

    /** The component's weights by upstream key (empty for config-only components such as the scheduler). */
    WeightSource weights(String component);

    /** Tokenizer files by file name (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json); may be empty. */
    Map<String, String> tokenizerFiles();

    /** Where the model came from: source, source_format, converter, dtype, detected variant... */
    JsonNode provenance();

    @Override
    void close();

    /**
     * Opens any model: an sdj flat file (recognised by its magic) as a memory-mapped {@link ModelFile}, anything else
     * through {@link ModelImporter#importFrom(Path)} (diffusers folder, component folder, safetensors, LDM checkpoint).
     */
    static ModelSource open(java.nio.file.Path path) {
        if (java.nio.file.Files.isRegularFile(path)) {
            try (java.io.InputStream in = java.nio.file.Files.newInputStream(path)) {
                if (java.util.Arrays.equals(in.readNBytes(FlatFormat.MAGIC.length), FlatFormat.MAGIC)) return ModelFile.open(path);
            } catch (java.io.IOException e) {
                throw new WeightsFormatException(path + ": cannot read: " + e, e);
            }
        }
        return ModelImporter.importFrom(path);
    }
}
