package io.sdj.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.vae.VaeTiling;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.taesd.TaesdTiling;
import io.sdj.models.vae.AutoencoderKL;

/**
 * The two ways to turn final latents into pixels in [0, 1]: the model's VAE as diffusers post-processes it
 * (decode(latents ÷ scaling factor), then (x/2 + 0.5) clamped) and TAESD (takes UNet-space latents, outputs ≈[0, 1],
 * clamped here).
 */
final class Decoders {
    private Decoders() {}

    static LatentDecoder vae(JsonNode config, WeightSource w) {
        return vae(AutoencoderKL.load(config, w));
    }

    static LatentDecoder vae(AutoencoderKL vae) {
        if (!vae.hasDecoder()) return null;
        return withTiling((ws, latents, mode, betweenTiles, trace) -> {
            VaeTiling tiling = mode.forDecode(vae.config(), latents.dim(2), latents.dim(3));
            Tensor y = vae.decodeLatents(ws, latents, tiling, betweenTiles, CancellableTrace.blockCheckpoints(trace));
            trace.record("vae_decoder_output", y);
            float[] d = y.data();
            for (int i = 0, n = y.numel(); i < n; i++) d[i] = Math.min(1f, Math.max(0f, d[i] / 2f + 0.5f));
            return y;
        });
    }

    static LatentDecoder taesd(TaesdDecoder taesd) {
        return withTiling((ws, latents, mode, betweenTiles, trace) -> {
            TaesdTiling tiling = mode.forTaesdDecode(latents.dim(2), latents.dim(3));
            Trace checkpoints = CancellableTrace.blockCheckpoints(trace);
            Tensor y = tiling == null ? taesd.forward(ws, latents, checkpoints)
                    : tiling.decode(ws, latents, tile -> taesd.forward(ws, tile, checkpoints), betweenTiles);
            trace.record("taesd_decoder_output", y);
            float[] d = y.data();
            for (int i = 0, n = y.numel(); i < n; i++) d[i] = Math.min(1f, Math.max(0f, d[i]));
            return y;
        });
    }

    /** A decode that takes a tiling choice. */
    private interface TilingDecode {
        Tensor decode(Workspace ws, Tensor latents, VaeTilingMode mode, Runnable betweenTiles, Trace trace);
    }

    /** The decoder whose plain {@code decode} runs untiled (what the reference outputs and traces compare with). */
    private static LatentDecoder withTiling(TilingDecode d) {
        return new LatentDecoder() {
            @Override
            public Tensor decode(Workspace ws, Tensor latents, Trace trace) {
                return d.decode(ws, latents, VaeTilingMode.OFF, () -> { }, trace);
            }

            @Override
            public Tensor decode(Workspace ws, Tensor latents, VaeTilingMode mode, Runnable betweenTiles, Trace trace) {
                return d.decode(ws, latents, mode, betweenTiles, trace);
            }
        };
    }

    /** 2^(number of VAE blocks − 1): 8 for every SD VAE. */
    static int vaeScaleFactor(JsonNode config) {
        JsonNode b = config.path("block_out_channels");
        return b.isArray() && b.size() > 0 ? 1 << (b.size() - 1) : 8;
    }
}
