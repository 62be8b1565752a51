package io.sdj.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.clip.ClipTextConfig;
import io.sdj.models.vae.RandomWeights;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A CLIP text encoder for benchmarks: the config of Stable Diffusion 1.x's encoder (OpenAI CLIP ViT-L/14 text tower:
 * hidden 768, 12 layers, 12 heads, intermediate 3072, quick_gelu, 77 positions, vocabulary 49408), the transformers
 * state_dict names and shapes of any {@link ClipTextConfig}, deterministic off-heap weights for them, and the FLOP
 * count of one forward.
 */
public final class SyntheticTextEncoder {
    private SyntheticTextEncoder() {}

    /** The CLIPTextConfig JSON of SD 1.x's text encoder (openai/clip-vit-large-patch14's text tower). */
    public static JsonNode vitL14Config() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("architectures", "CLIPTextModel").put("model_type", "clip_text_model")
                .put("vocab_size", 49408).put("hidden_size", 768).put("intermediate_size", 3072)
                .put("num_hidden_layers", 12).put("num_attention_heads", 12).put("max_position_embeddings", 77)
                .put("hidden_act", "quick_gelu").put("layer_norm_eps", 1e-5)
                .put("bos_token_id", 0).put("eos_token_id", 2).put("pad_token_id", 1).put("projection_dim", 768);
        return o;
    }

    /** transformers' {@code CLIPTextModel} parameter names (with the {@code text_model.} prefix) and shapes. */
    public static Map<String, int[]> parameterShapes(ClipTextConfig c) {
        int h = c.hiddenSize(), inter = c.intermediateSize();
        Map<String, int[]> m = new LinkedHashMap<>();
        String p = "text_model.";
        m.put(p + "embeddings.token_embedding.weight", new int[]{c.vocabSize(), h});
        m.put(p + "embeddings.position_embedding.weight", new int[]{c.maxPositionEmbeddings(), h});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = p + "encoder.layers." + i + ".";
            for (String norm : new String[]{"layer_norm1", "layer_norm2"}) {
                m.put(l + norm + ".weight", new int[]{h});
                m.put(l + norm + ".bias", new int[]{h});
            }
            for (String proj : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
                m.put(l + "self_attn." + proj + ".weight", new int[]{h, h});
                m.put(l + "self_attn." + proj + ".bias", new int[]{h});
            }
            m.put(l + "mlp.fc1.weight", new int[]{inter, h});
            m.put(l + "mlp.fc1.bias", new int[]{inter});
            m.put(l + "mlp.fc2.weight", new int[]{h, inter});
            m.put(l + "mlp.fc2.bias", new int[]{h});
        }
        m.put(p + "final_layer_norm.weight", new int[]{h});
        m.put(p + "final_layer_norm.bias", new int[]{h});
        return m;
    }

    /**
     * Deterministic weights for {@code config} (off-heap; keep them open while the encoder runs: it reads the token
     * table from them row by row).
     */
    public static RandomWeights weights(JsonNode config, long seed) {
        return new RandomWeights(parameterShapes(ClipTextConfig.fromJson(config)), seed, "synthetic CLIP text encoder (seed " + seed + ")");
    }

    /**
     * FLOPs (2 × multiply-adds) of one forward over {@code batch} rows of {@code tokens} ids: per layer the q/k/v/out
     * projections (4·H² per token), the MLP (2·H·I per token) and the attention products QKᵀ and AV counted in full
     * (2·T·H per token, the causal mask not discounted). Norms, activations and embeddings are ignored.
     * SD 1.x's encoder: 13.30 GFLOP per prompt.
     */
    public static double flops(ClipTextConfig c, int batch, int tokens) {
        double h = c.hiddenSize(), inter = c.intermediateSize();
        double perTokenPerLayer = 4 * h * h + 2 * h * inter + 2.0 * tokens * h;
        return 2.0 * batch * tokens * c.numHiddenLayers() * perTokenPerLayer;
    }
}
