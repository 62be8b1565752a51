package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

/** Sinusoidal timestep embedding as diffusers' {@code get_timestep_embedding}, computed in float32 like upstream. */
public final class TimestepEmbedding {
    private TimestepEmbedding() {}

    /**
     * [B] timesteps → [B, dim]. exponent_i = −ln(maxPeriod)·i / (half − shift); emb = t·exp(exponent);
     * output [sin, cos] (or [cos, sin] with flipSinToCos), zero-padded when dim is odd.
     */
    public static Tensor sinusoidal(Workspace ws, float[] timesteps, int dim, boolean flipSinToCos, float downscaleFreqShift) {
        int half = dim / 2;
        Tensor y = ws.zeros(timesteps.length, dim);
        float[] yd = y.data();
        float[] freq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) -Math.log(10000.0) * (float) i;
            exponent = exponent / (half - downscaleFreqShift);
            freq[i] = (float) Math.exp(exponent);
        }
        for (int b = 0; b < timesteps.length; b++) {
            for (int i = 0; i < half; i++) {
                float arg = timesteps[b] * freq[i];
                float s = (float) Math.sin(arg), c = (float) Math.cos(arg);
                yd[b * dim + i] = flipSinToCos ? c : s;
                yd[b * dim + half + i] = flipSinToCos ? s : c;
            }
        }
        return y;
    }
}
