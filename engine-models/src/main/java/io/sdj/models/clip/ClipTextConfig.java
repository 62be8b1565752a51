package io.sdj.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.models.config.ConfigValues;
import io.sdj.ops.Activation;

/** The fields of a transformers {@code CLIPTextConfig} that the text encoder uses. */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, float layerNormEps,
                             Activation hiddenAct, int eosTokenId) {

    public ClipTextConfig {
        if (hiddenSize < 1 || numAttentionHeads < 1 || hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("text encoder config: hidden_size " + hiddenSize
                    + " is not divisible into num_attention_heads " + numAttentionHeads);
        }
        if (numHiddenLayers < 1) throw new IllegalArgumentException("text encoder config: num_hidden_layers must be ≥ 1, got " + numHiddenLayers);
        if (vocabSize < 1 || maxPositionEmbeddings < 1 || intermediateSize < 1) {
            throw new IllegalArgumentException("text encoder config: vocab_size, max_position_embeddings and intermediate_size must be ≥ 1");
        }
    }

    /** Reads a CLIPTextConfig JSON (a full CLIPConfig's {@code text_config} is accepted too); defaults as transformers'. */
    public static ClipTextConfig fromJson(JsonNode json) {
        if (json == null || !json.isObject()) throw new IllegalArgumentException("text encoder config: expected a JSON object");
        JsonNode c = json.has("text_config") && json.get("text_config").isObject() ? json.get("text_config") : json;
        return new ClipTextConfig(
                ConfigValues.boundedInt(c, "text encoder", "vocab_size", 49408, 1, 10_000_000),
                ConfigValues.boundedInt(c, "text encoder", "hidden_size", 512, 1, ConfigValues.MAX_CHANNELS),
                ConfigValues.boundedInt(c, "text encoder", "intermediate_size", 2048, 1, 4 * ConfigValues.MAX_CHANNELS),
                ConfigValues.boundedInt(c, "text encoder", "num_hidden_layers", 12, 1, ConfigValues.MAX_LAYERS),
                ConfigValues.boundedInt(c, "text encoder", "num_attention_heads", 8, 1, ConfigValues.MAX_LAYERS),
                ConfigValues.boundedInt(c, "text encoder", "max_position_embeddings", 77, 1, 1 << 16),
                (float) c.path("layer_norm_eps").asDouble(1e-5),
                Activation.fromUpstream(c.path("hidden_act").asText("quick_gelu")),
                ConfigValues.boundedInt(c, "text encoder", "eos_token_id", 2, 0, 10_000_000));
    }
}
