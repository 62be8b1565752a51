package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;

/** Turns UNet-space latents [B, C, h, w] into images [B, 3, H, W] with values in [0, 1] (already clamped). */
@FunctionalInterface
public interface LatentDecoder {
    Tensor decode(Workspace ws, Tensor latents, Trace trace);

    /**
     * {@link #decode(Workspace, Tensor, Trace)} with a tiling choice; {@code betweenTiles} runs before every tile (a
     * cancellation check may throw from it). Decoders that do not tile (TAESD) ignore both.
     */
    default Tensor decode(Workspace ws, Tensor latents, VaeTilingMode tiling, Runnable betweenTiles, Trace trace) {
        return decode(ws, latents, trace);
    }
}
