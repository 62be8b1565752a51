package io.sdj.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.ops.LayerNorm;

/**
 * The CLIP text encoder of Stable Diffusion (transformers {@code CLIPTextModel}): token + position embeddings,
 * pre-LN transformer layers with a causal mask (no padding mask, as the SD pipelines call it) and a final layer norm.
 * Weights are read by transformers' key names ({@code text_model.embeddings.token_embedding.weight}, ...); the
 * {@code text_model.} prefix is optional. The token table is read row by row from the weight source, never copied.
 * <p>Trace names: {@code hidden_states.0} (embeddings) and {@code hidden_states.k} (output of layer k).
 */
public final class ClipTextModel {
    private final ClipTextConfig config;
    private final WeightTensor tokenEmbedding;   // [vocab, H]
    private final float[] positionEmbedding;     // [maxPos, H]
    private final ClipEncoderLayer[] layers;
    private final LayerNorm finalNorm;

    private ClipTextModel(ClipTextConfig config, WeightSource w) {
        this.config = config;
        int h = config.hiddenSize();
        tokenEmbedding = w.get("embeddings.token_embedding.weight").requireShape(config.vocabSize(), h);
        positionEmbedding = w.get("embeddings.position_embedding.weight").requireShape(config.maxPositionEmbeddings(), h).toFloats();
        layers = new ClipEncoderLayer[config.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) layers[i] = new ClipEncoderLayer(config, w.at("encoder.layers." + i));
        finalNorm = new LayerNorm(w.get("final_layer_norm.weight").requireShape(h), w.get("final_layer_norm.bias"), config.layerNormEps());
    }

    /** Builds the encoder from a CLIPTextConfig JSON and weights keyed as transformers names them. */
    public static ClipTextModel load(JsonNode config, WeightSource weights) {
        io.sdj.core.VectorSupport.require();
        ClipTextConfig c = ClipTextConfig.fromJson(config);
        WeightSource w = weights.contains("text_model.embeddings.token_embedding.weight") ? weights.at("text_model") : weights;
        if (!w.contains("embeddings.token_embedding.weight")) {
            throw new IllegalArgumentException(weights.origin() + ": not a CLIP text encoder (no text_model.embeddings.token_embedding.weight)");
        }
        return new ClipTextModel(c, w);
    }

    public ClipTextConfig config() { return config; }

    public int hiddenSize() { return config.hiddenSize(); }

    /** Encodes a batch of token-id rows of equal length (≤ max_position_embeddings). */
    public ClipTextOutput forward(Workspace ws, int[][] ids, Trace trace) {
        if (ids.length == 0) throw new IllegalArgumentException("text encoder: empty batch");
        int b = ids.length, t = ids[0].length, h = config.hiddenSize();
        if (t < 1 || t > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("text encoder: sequence length " + t + " is outside 1.." + config.maxPositionEmbeddings());
        }
        Tensor x = ws.take(b, t, h);
        float[] xd = x.data();
        for (int bi = 0; bi < b; bi++) {
            if (ids[bi].length != t) {
                throw new IllegalArgumentException("text encoder: row " + bi + " has " + ids[bi].length + " ids, row 0 has " + t);
            }
            for (int ti = 0; ti < t; ti++) {
                int id = ids[bi][ti];
                if (id < 0 || id >= config.vocabSize()) {
                    throw new IllegalArgumentException("text encoder: token id " + id + " at [" + bi + "," + ti + "] is outside the vocabulary of " + config.vocabSize());
                }
                int o = (bi * t + ti) * h;
                long src = (long) id * h;
                for (int c = 0; c < h; c++) xd[o + c] = tokenEmbedding.get(src + c) + positionEmbedding[ti * h + c];
            }
        }
        trace.record("hidden_states.0", x);
        Tensor penultimate = null;
        for (int i = 0; i < layers.length; i++) {
            if (i == layers.length - 1) penultimate = x.copy();
            Tensor y = layers[i].forward(ws, x);
            ws.release(x);
            x = y;
            trace.record("hidden_states." + (i + 1), x);
        }
        if (penultimate == null) penultimate = x.copy();   // unreachable: at least one layer
        Tensor lastWs = finalNorm.forward(ws, x);
        ws.release(x);
        Tensor last = lastWs.copy();
        ws.release(lastWs);
        Tensor skipWs = finalNorm.forward(ws, penultimate);
        Tensor skip = skipWs.copy();
        ws.release(skipWs);

        Tensor pooled = Tensor.zeros(b, h);
        for (int bi = 0; bi < b; bi++) {
            int pos = eosPosition(ids[bi]);
            System.arraycopy(last.data(), (bi * t + pos) * h, pooled.data(), bi * h, h);
        }
        return new ClipTextOutput(last, pooled, penultimate, skip);
    }

    /**
     * The pooled position as transformers 4.36 picks it: with the legacy config value eos_token_id == 2 the first
     * position of the largest id (CLIP's EOS has the largest id); otherwise the first position holding eos_token_id
     * (0 when there is none).
     */
    int eosPosition(int[] row) {
        int best = 0;
        if (config.eosTokenId() == 2) {
            for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
            return best;
        }
        for (int i = 0; i < row.length; i++) if (row[i] == config.eosTokenId()) return i;
        return 0;
    }
}
