package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.blocks.ModelWeights;
import io.sdj.ops.Activation;
import io.sdj.ops.Linear;
import io.sdj.ops.TimestepEmbedding;

/**
 * diffusers {@code Timesteps} + {@code TimestepEmbedding}:
 * <pre>
 *   p   = sinusoidal(t, block_out_channels[0], flip_sin_to_cos, freq_shift)     ("time_proj", float32 like upstream)
 *   p   = p + cond_proj(timestep_cond)        only with time_cond_proj_dim (LCM guidance embedding; bias-free)
 *   emb = linear_2(SiLU(linear_1(p)))                                          ("time_embedding")
 * </pre>
 */
final class TimeEmbedding {
    private final int channels;
    private final boolean flipSinToCos;
    private final float freqShift;
    private final Linear condProj, linear1, linear2;
    private final Integer condDim;

    TimeEmbedding(WeightSource w, UNetConfig c) {
        this.channels = c.blockOutChannels()[0];
        this.flipSinToCos = c.flipSinToCos();
        this.freqShift = c.freqShift();
        int dim = c.timeEmbeddingDim();
        this.condDim = c.timeCondProjDim();
        this.condProj = condDim == null ? null : new Linear(ModelWeights.tensor(w, "cond_proj.weight", channels, condDim), null);
        this.linear1 = new Linear(ModelWeights.tensor(w, "linear_1.weight", dim, channels), ModelWeights.tensor(w, "linear_1.bias", dim));
        this.linear2 = new Linear(ModelWeights.tensor(w, "linear_2.weight", dim, dim), ModelWeights.tensor(w, "linear_2.bias", dim));
    }

    /** @return the time embedding [B, time_embed_dim] (a new tensor). */
    Tensor forward(Workspace ws, float[] timesteps, Tensor timestepCond, Trace trace) {
        Tensor p = TimestepEmbedding.sinusoidal(ws, timesteps, channels, flipSinToCos, freqShift);
        trace.record("time_proj", p);
        if (timestepCond != null) {
            if (condProj == null) {
                throw new IllegalArgumentException("UNet: timestep_cond given but the config has no time_cond_proj_dim");
            }
            if (timestepCond.rank() != 2 || timestepCond.dim(0) != timesteps.length || timestepCond.dim(1) != condDim) {
                throw new IllegalArgumentException("UNet: timestep_cond " + timestepCond + " must be [" + timesteps.length + ", " + condDim + "]");
            }
            Tensor q = condProj.forward(ws, timestepCond, Activation.NONE, p);
            ws.release(p);
            p = q;
        }
        Tensor h = linear1.forward(ws, p, Activation.SILU, null);
        ws.release(p);
        Tensor emb = linear2.forward(ws, h);
        ws.release(h);
        trace.record("time_embedding", emb);
        return emb;
    }
}
