package io.sdj.models.taesd;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Elementwise;

import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * diffusers' {@code AutoencoderTiny} tiled decoding ({@code enable_tiling}), which differs from the SD VAE's
 * ({@link io.sdj.models.vae.VaeTiling}): square latent tiles of T = 64 latents (512 pixels) start every
 * T − int(T · 0.125) = 56 latents in both directions, edge tiles clipped, whether or not the image is larger than one
 * tile. Each decoded tile is written over the output in place as {@code m · tile + (1 − m) · out}, where
 * m(r, c) = m<sub>row</sub>(r) · m<sub>col</sub>(c) and each factor is 1 for the first tile row (column) and otherwise
 * the ramp min(1, k / (8 · int(T · 0.125) − 1)) over the tile's pixel rows (columns) k, all in float32 as upstream.
 * The first tile row and column are therefore copied as they are, and each later tile fades in over its first 64
 * pixels. Working memory is the output plus one tile's decode for each distinct tile shape (full tiles and the
 * clipped edge tiles; at 2048² that is 64², 64×32, 32×64 and 32² latents: about 0.8 GB instead of 5.9 GB untiled).
 *
 * @param latentTile    T, the tile edge in latents
 * @param overlapFactor the fraction of a tile that overlaps the previous one
 * @param scale         output pixels per latent (8 for TAESD)
 */
public record TaesdTiling(int latentTile, double overlapFactor, int scale) {

    /**
     * Workspace bytes an untiled TAESD decode takes per output pixel of one image (upper bound, rounded up; the test
     * {@code TaesdTilingTest} measures it: four 64-channel float32 activations at full resolution are live at the peak,
     * plus the buffers of the lower resolutions the workspace keeps).
     */
    public static final long BYTES_PER_OUTPUT_PIXEL = 1400;

    public TaesdTiling {
        if (latentTile < 1 || scale < 1) {
            throw new IllegalArgumentException("TAESD tiling: tile " + latentTile + " and scale " + scale + " must be ≥ 1");
        }
        int blend = (int) (latentTile * overlapFactor);
        if (!(overlapFactor >= 0 && overlapFactor < 1) || blend < 1 || blend * scale < 2) {
            throw new IllegalArgumentException("TAESD tiling: overlap " + overlapFactor + " of a " + latentTile
                    + "-latent tile must blend at least one latent and leave the tiles advancing");
        }
    }

    /** diffusers' settings: 512-pixel tiles (64 latents), overlap 0.125, 8 pixels per latent. */
    public static TaesdTiling defaults() { return new TaesdTiling(64, 0.125, 8); }

    /** The blend extent in latents, int(T · overlap). */
    int blend() { return (int) (latentTile * overlapFactor); }

    /** The distance between tile starts in latents. */
    int traverse() { return latentTile - blend(); }

    /** The number of tiles a decode of an h×w latent runs. */
    public int tileCount(int h, int w) {
        int t = traverse();
        return ((h + t - 1) / t) * ((w + t - 1) / t);
    }

    /** The estimated workspace of an untiled decode of one h×w latent. */
    public static long untiledDecodeBytes(int h, int w) {
        return BYTES_PER_OUTPUT_PIXEL * (8L * h) * (8L * w);
    }

    /**
     * Decodes {@code latents} [B, C, h, w] tile by tile with {@code decoder} (one tile [B, C, th, tw] → [B, 3,
     * scale·th, scale·tw], taken from {@code ws}; this method releases it) and returns [B, 3, scale·h, scale·w] from
     * {@code ws}. {@code betweenTiles} runs before every tile (a cancellation check may throw from it).
     */
    public Tensor decode(Workspace ws, Tensor latents, UnaryOperator<Tensor> decoder, Runnable betweenTiles) {
        Objects.requireNonNull(betweenTiles, "betweenTiles");
        int b = latents.dim(0), c = latents.dim(1), h = latents.dim(2), w = latents.dim(3);
        int oh = h * scale, ow = w * scale, step = traverse();
        float[] ramp = new float[latentTile * scale];
        float denominator = blend() * scale - 1;
        for (int k = 0; k < ramp.length; k++) ramp[k] = Math.min(1f, (float) k / denominator);
        Tensor out = ws.take(b, 3, oh, ow);
        java.util.Arrays.fill(out.data(), 0f);
        for (int y0 = 0; y0 < h; y0 += step) {
            for (int x0 = 0; x0 < w; x0 += step) {
                betweenTiles.run();
                int th = Math.min(latentTile, h - y0), tw = Math.min(latentTile, w - x0);
                Tensor in = Elementwise.window(ws, latents, y0, x0, th, tw);
                Tensor t;
                try {
                    t = decoder.apply(in);
                } finally {
                    ws.release(in);
                }
                try {
                    if (t.rank() != 4 || t.dim(0) != b || t.dim(1) != 3 || t.dim(2) != th * scale || t.dim(3) != tw * scale) {
                        throw new IllegalStateException("TAESD tiling: tile at latent (" + y0 + ", " + x0 + ") came out "
                                + t + ", expected [" + b + ", 3, " + th * scale + ", " + tw * scale + "]");
                    }
                    blendInto(t, out, y0 * scale, x0 * scale, y0 > 0 ? ramp : null, x0 > 0 ? ramp : null);
                } finally {
                    ws.release(t);
                }
            }
        }
        return out;
    }

    /** out[.., oy + r, ox + col] = m·t + (1 − m)·out with m = rowRamp[r]·colRamp[col] (a null ramp is all ones). */
    private static void blendInto(Tensor t, Tensor out, int oy, int ox, float[] rowRamp, float[] colRamp) {
        int planes = t.dim(0) * t.dim(1), th = t.dim(2), tw = t.dim(3), oh = out.dim(2), ow = out.dim(3);
        float[] td = t.data(), od = out.data();
        for (int p = 0; p < planes; p++) {
            for (int r = 0; r < th; r++) {
                float mr = rowRamp == null ? 1f : rowRamp[r];
                int ti = (p * th + r) * tw, oi = (p * oh + oy + r) * ow + ox;
                for (int col = 0; col < tw; col++) {
                    float m = colRamp == null ? mr : mr * colRamp[col];
                    od[oi + col] = m * td[ti + col] + (1f - m) * od[oi + col];
                }
            }
        }
    }

}
