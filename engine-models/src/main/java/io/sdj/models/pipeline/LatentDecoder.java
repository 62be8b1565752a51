package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;

/** Turns UNet-space latents [B, C, h, w] into images [B, 3, H, W] with values in [0, 1] (already clamped). */
@FunctionalInterface
public interface LatentDecoder {
    Tensor decode(Workspace ws, Tensor latents, Trace trace);
}
