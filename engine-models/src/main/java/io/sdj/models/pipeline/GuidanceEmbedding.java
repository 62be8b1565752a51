package io.sdj.models.pipeline;

/**
 * The guidance-scale embedding that guidance-distilled models (LCM) take as {@code timestep_cond}, as diffusers'
 * {@code get_guidance_scale_embedding} computes it: w = (guidance − 1)·1000, frequencies exp(−ln(10000)·i/(half−1))
 * for i < half = dim/2, output [sin(w·f), cos(w·f)] (zero-padded to an odd dim), in float32.
 */
public final class GuidanceEmbedding {
    private GuidanceEmbedding() {}

    /** One row of {@code dim} values per batch row, all for the same guidance scale. */
    public static float[] of(float guidance, int dim, int batch) {
        if (dim < 2) throw new IllegalArgumentException("guidance embedding dimension must be ≥ 2, got " + dim);
        int half = dim / 2;
        float w = (guidance - 1f) * 1000f;
        float step = (float) Math.log(10000.0) / (half - 1);   // float32 throughout, as upstream's tensors
        float[] row = new float[dim];
        for (int i = 0; i < half; i++) {
            float freq = (float) Math.exp((float) i * -step);
            float arg = w * freq;
            row[i] = (float) Math.sin(arg);
            row[half + i] = (float) Math.cos(arg);
        }
        float[] out = new float[dim * batch];
        for (int b = 0; b < batch; b++) System.arraycopy(row, 0, out, b * dim, dim);
        return out;
    }
}
