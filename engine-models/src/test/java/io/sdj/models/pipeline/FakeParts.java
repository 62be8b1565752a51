package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.clip.ClipTokenizer;
import io.sdj.models.sampling.NoiseSource;
import io.sdj.models.sampling.Sampler;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.sampling.SchedulerConfig;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * Small stand-in components to test the pipeline's control flow (batching, CFG, progress, cancellation) without
 * real models: a 5-token vocabulary, a one-layer random text encoder, a denoiser that records what it saw, a linear
 * sampler and a decoder that maps latent channel 0 to grey.
 */
final class FakeParts {
    static final int TOKENS = 6, DIM = 8;
    final List<Integer> denoiserBatches = new ArrayList<>();
    final List<float[]> denoiserTimesteps = new ArrayList<>();
    final List<Tensor> timestepConds = new ArrayList<>();
    final List<int[]> contextShapes = new ArrayList<>();
    Runnable onDenoise = () -> { };

    PipelineParts parts(int timeCondProjDim, boolean withTaesd) {
        ClipTokenizer tok = ClipTokenizer.load("""
                {"a</w>": 0, "b</w>": 1, "c</w>": 2, "<|startoftext|>": 3, "<|endoftext|>": 4, "a": 5, "b": 6, "c": 7}""",
                "#version: 0.2\n", "{\"model_max_length\": " + TOKENS + "}");
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("vocab_size", 8).put("hidden_size", DIM).put("intermediate_size", 16).put("num_hidden_layers", 1)
                .put("num_attention_heads", 2).put("max_position_embeddings", TOKENS).put("hidden_act", "quick_gelu");
        ClipTextModel text = ClipTextModel.load(c, randomClip());
        Denoiser denoiser = (ws, sample, ts, context, cond, trace) -> {
            onDenoise.run();
            denoiserBatches.add(sample.dim(0));
            contextShapes.add(context.shape());
            denoiserTimesteps.add(ts.clone());
            if (cond != null) timestepConds.add(cond.copy());
            if (context.dim(0) != sample.dim(0)) throw new IllegalStateException("context batch " + context + " vs sample " + sample);
            Tensor out = ws.take(sample.shape());
            int per = sample.numel() / sample.dim(0);
            for (int i = 0; i < sample.numel(); i++) out.data()[i] = 0.5f * sample.data()[i] + context.data()[(i / per) * TOKENS * DIM] ;
            return out;
        };
        SamplerFactory samplers = (kind, config, steps) -> new Sampler() {
            final float[] ts = FakeParts.timesteps(steps);
            @Override public SamplerKind kind() { return kind; }
            @Override public SchedulerConfig config() { return config; }
            @Override public float[] timesteps() { return ts.clone(); }
            @Override public float initNoiseSigma() { return 2f; }
            @Override public Tensor scaleModelInput(Tensor x, float t) { return x; }
            @Override public StepResult step(Tensor eps, float t, Tensor x, NoiseSource noise) {
                Tensor y = Tensor.zeros(x.shape());
                for (int k = 0; k < x.numel(); k++) y.data()[k] = x.data()[k] - 0.1f * eps.data()[k];
                return new StepResult(y, null);
            }
        };
        LatentDecoder decoder = (ws, z, trace) -> {
            int n = z.dim(0), h = z.dim(2) * 8, w = z.dim(3) * 8;
            Tensor img = ws.take(n, 3, h, w);
            for (int b = 0; b < n; b++) for (int ch = 0; ch < 3; ch++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
                float v = z.data()[((b * z.dim(1)) * z.dim(2) + y / 8) * z.dim(3) + x / 8];
                img.data()[((b * 3 + ch) * h + y) * w + x] = Math.min(1f, Math.max(0f, v * 0.1f + 0.5f));
            }
            return img;
        };
        return new PipelineParts(tok, text, denoiser, 4, timeCondProjDim, decoder, withTaesd ? decoder : null, 8,
                SchedulerConfig.defaults(), samplers, seed -> {
                    Random r = new Random(seed);
                    return shape -> {
                        float[] v = new float[(int) Tensor.numel(shape)];
                        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
                        return v;
                    };
                }, "fake", null);
    }

    private static float[] timesteps(int steps) {
        float[] t = new float[steps];
        for (int i = 0; i < steps; i++) t[i] = 999 - i * (1000f / steps);
        return t;
    }

    private static WeightSource randomClip() {
        Map<String, WeightTensor> m = new TreeMap<>();
        Random r = new Random(5);
        put(m, r, "text_model.embeddings.token_embedding.weight", 8, DIM);
        put(m, r, "text_model.embeddings.position_embedding.weight", TOKENS, DIM);
        for (String p : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
            put(m, r, "text_model.encoder.layers.0.self_attn." + p + ".weight", DIM, DIM);
            put(m, r, "text_model.encoder.layers.0.self_attn." + p + ".bias", DIM);
        }
        for (String p : new String[]{"layer_norm1", "layer_norm2", "final_layer_norm"}) {
            String pre = p.startsWith("final") ? "text_model." : "text_model.encoder.layers.0.";
            put(m, r, pre + p + ".weight", DIM);
            put(m, r, pre + p + ".bias", DIM);
        }
        put(m, r, "text_model.encoder.layers.0.mlp.fc1.weight", 16, DIM);
        put(m, r, "text_model.encoder.layers.0.mlp.fc1.bias", 16);
        put(m, r, "text_model.encoder.layers.0.mlp.fc2.weight", DIM, 16);
        put(m, r, "text_model.encoder.layers.0.mlp.fc2.bias", DIM);
        return new WeightSource() {
            @Override public WeightTensor get(String name) { return m.get(name); }
            @Override public boolean contains(String name) { return m.containsKey(name); }
            @Override public Set<String> names() { return m.keySet(); }
        };
    }

    private static void put(Map<String, WeightTensor> m, Random r, String name, int... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        m.put(name, WeightTensor.ofFloats(name, v, shape));
    }
}
