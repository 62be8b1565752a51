package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;

/**
 * Cheap previews of latents during a run. {@link #linear}: each latent pixel mapped to RGB by a fixed 4×3 matrix
 * (ComfyUI's {@code latent_rgb_factors} for SD 1.x, {@code comfy/latent_formats.py} class {@code SD15}; bias 0, as
 * ComfyUI gives none for SD 1.x), then {@code (x + 1) / 2} clamped: an image at the latent resolution (1/8 of the
 * output), from UNet-space latents. {@link #decoder}: a full decoder (TAESD) at the output resolution.
 */
public final class LatentPreview {
    /** rows: latent channels 0..3; columns: R, G, B. */
    static final float[][] SD1_FACTORS = {
            {0.3512f, 0.2297f, 0.3227f},
            {0.3250f, 0.4974f, 0.2350f},
            {-0.2829f, 0.1762f, 0.2721f},
            {-0.2120f, -0.2616f, -0.7177f},
    };
    static final float[] SD1_BIAS = {0f, 0f, 0f};

    private LatentPreview() {}

    /** The linear approximation of batch row {@code index} of UNet-space latents [B, 4, h, w]. */
    public static RgbImage linear(Tensor latents, int index) {
        if (latents.rank() != 4 || latents.dim(1) != 4) {
            throw new IllegalArgumentException("linear preview needs [B, 4, h, w] latents, got " + latents);
        }
        int h = latents.dim(2), w = latents.dim(3), plane = h * w;
        float[] x = latents.data();
        byte[] rgb = new byte[3 * plane];
        int base = index * 4 * plane;
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float v = SD1_BIAS[c];
                for (int l = 0; l < 4; l++) v += x[base + l * plane + p] * SD1_FACTORS[l][c];
                v = Math.min(1f, Math.max(0f, (v + 1f) / 2f));
                rgb[3 * p + c] = (byte) (int) Math.rint(v * 255f);
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** Batch row {@code index} decoded by {@code decoder} (TAESD for previews), in tiles when the image is large. */
    public static RgbImage decoder(LatentDecoder decoder, Workspace ws, Tensor latents, int index) {
        int per = latents.numel() / latents.dim(0);
        float[] row = java.util.Arrays.copyOfRange(latents.data(), index * per, (index + 1) * per);
        Tensor y = decoder.decode(ws, Tensor.of(row, 1, latents.dim(1), latents.dim(2), latents.dim(3)),
                VaeTilingMode.AUTO, () -> { }, Trace.NONE);
        RgbImage img = RgbImage.fromNchw(y.data(), 0, y.dim(2), y.dim(3));
        ws.release(y);
        return img;
    }
}
