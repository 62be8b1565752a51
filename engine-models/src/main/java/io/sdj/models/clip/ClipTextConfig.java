package io.sdj.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
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
                c.path("vocab_size").asInt(49408),
                c.path("hidden_size").asInt(512),
                c.path("intermediate_size").asInt(2048),
                c.path("num_hidden_layers").asInt(12),
                c.path("num_attention_heads").asInt(8),
                c.path("max_position_embeddings").asInt(77),
                (float) c.path("layer_norm_eps").asDouble(1e-5),
                Activation.fromUpstream(c.path("hidden_act").asText("quick_gelu")),
                c.path("eos_token_id").asInt(2));
    }
}
