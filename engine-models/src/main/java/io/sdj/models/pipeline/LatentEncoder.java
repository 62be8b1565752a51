package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.sampling.NoiseSource;

/**
 * Turns images [B, 3, H, W] in [−1, 1] (diffusers' normalised pixels) into UNet-space latents [B, C, h, w], as
 * diffusers' {@code retrieve_latents(vae.encode(x), generator)} · scaling factor does: a VAE samples its latent
 * distribution with one draw of {@code noise} of the latents' shape; TAESD is deterministic and draws nothing.
 */
@FunctionalInterface
public interface LatentEncoder {
    /** A new tensor (not from {@code ws}); {@code name} prefixes what is recorded to {@code trace}. */
    Tensor encode(Workspace ws, Tensor image, NoiseSource noise, String name, Trace trace);

    /** {@link #encode(Workspace, Tensor, NoiseSource, String, Trace)} with a tiling choice (TAESD ignores it). */
    default Tensor encode(Workspace ws, Tensor image, NoiseSource noise, String name, VaeTilingMode tiling, Runnable betweenTiles,
                          Trace trace) {
        return encode(ws, image, noise, name, trace);
    }
}
