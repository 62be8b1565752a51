package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;

/** The noise predictor of a latent diffusion model (a UNet): ε or v prediction for a batch of latents. */
@FunctionalInterface
public interface Denoiser {
    /**
     * @param sample        [B, C, h, w] scaled model input
     * @param timesteps     one model timestep per batch row
     * @param context       [B, T, D] text embeddings
     * @param timestepCond  [B, time_cond_proj_dim] guidance embedding, or null
     * @return a new [B, C, h, w] tensor taken from {@code ws}
     */
    Tensor predict(Workspace ws, Tensor sample, float[] timesteps, Tensor context, Tensor timestepCond, Trace trace);
}
