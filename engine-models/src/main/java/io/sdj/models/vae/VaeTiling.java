package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Elementwise;
import io.sdj.models.Trace;

import java.util.Objects;
import java.util.function.IntUnaryOperator;
import java.util.function.UnaryOperator;

/**
 * diffusers' {@code AutoencoderKL} tiling ({@code enable_tiling}): the input is cut into overlapping tiles, each tile
 * goes through the model alone, and the outputs are blended where they overlap, so memory is bounded by one tile
 * instead of the whole image.
 * <ul>
 *   <li>Settings: {@code sampleTile} S (pixels, default the VAE's {@code sample_size}), {@code latentTile} L
 *   (default S / 2^(blocks − 1)) and {@code overlapFactor} f (default 0.25).</li>
 *   <li>Decode (used when the latent is higher or wider than L): tiles of L latent rows/columns start every
 *   {@code int(L·(1−f))} (edge tiles are clipped, not padded); each decoded tile is blended in place with the
 *   (already blended, uncropped) tile above, then the one to the left, over {@code int(S·f)} rows/columns with
 *   linear weights; the tile is cropped to {@code S − int(S·f)} and the crops are laid side by side.</li>
 *   <li>Encode (used when the image is higher or wider than S): the same with the roles of S and L swapped.</li>
 * </ul>
 * Only the row of tiles above (its bottom blend strip) and the tile to the left are kept while the next tile is
 * computed, so the working memory beyond one tile's forward pass is a few strips and the output itself.
 */
public record VaeTiling(int sampleTile, int latentTile, double overlapFactor) {

    public VaeTiling {
        if (sampleTile < 1 || latentTile < 1) {
            throw new IllegalArgumentException("VAE tiling: tile sizes must be ≥ 1, got sample " + sampleTile + ", latent " + latentTile);
        }
        if (!(overlapFactor >= 0 && overlapFactor < 1)) {
            throw new IllegalArgumentException("VAE tiling: overlap factor must be in [0, 1), got " + overlapFactor);
        }
        if ((int) (latentTile * (1 - overlapFactor)) < 1 || (int) (sampleTile * (1 - overlapFactor)) < 1) {
            throw new IllegalArgumentException("VAE tiling: tiles of " + latentTile + " latents / " + sampleTile
                    + " pixels with overlap " + overlapFactor + " would never advance");
        }
    }

    /** diffusers' defaults for a VAE: S = sample_size, L = S / 2^(blocks − 1), f = 0.25. */
    public static VaeTiling defaults(VaeConfig c) {
        int s = c.sampleSize();
        return new VaeTiling(s, Math.max(1, s >> (c.blockCount() - 1)), 0.25);
    }

    /** Whether a decode of an h×w latent is tiled (it is larger than one latent tile). */
    public boolean tilesLatent(int h, int w) { return h > latentTile || w > latentTile; }

    /** Whether an encode of an H×W image is tiled. */
    public boolean tilesImage(int h, int w) { return h > sampleTile || w > sampleTile; }

    /** Decode: the distance between latent tile starts, int(L·(1 − f)). */
    int decodeStep() { return (int) (latentTile * (1 - overlapFactor)); }

    /** Decode: the blend extent in pixels, int(S·f); tiles are cropped to S minus that. */
    int decodeBlend() { return (int) (sampleTile * overlapFactor); }

    /** Encode: the distance between image tile starts, int(S·(1 − f)). */
    int encodeStep() { return (int) (sampleTile * (1 - overlapFactor)); }

    /** Encode: the blend extent in latents, int(L·f); tiles are cropped to L minus that. */
    int encodeBlend() { return (int) (latentTile * overlapFactor); }

    /** The number of tiles a decode of an h×w latent runs (1 when it is not tiled). */
    public int decodeTileCount(int h, int w) {
        if (!tilesLatent(h, w)) return 1;
        int s = decodeStep();
        return ((h + s - 1) / s) * ((w + s - 1) / s);
    }

    /**
     * Runs {@code model} tile by tile over {@code x} [B, C, H, W] and blends the outputs.
     * @param inTile    tile size in input cells (L for a decode, S for an encode)
     * @param step      distance between tile starts
     * @param blend     blend extent in output cells
     * @param limit     crop size of every output tile
     * @param outSize   output length of an input length (×8 for a decode, ÷8 for an encode)
     * @param model     one tile [B, C, th, tw] → [B, C', outSize(th), outSize(tw)] from {@code ws} (the tile input is
     *                  released by this method, the output too); the result comes from {@code ws} as well
     * @param betweenTiles run before every tile (a cancellation check may throw from it)
     * @param trace     receives every raw tile output as {@code tile_<row>_<col>}
     */
    static Tensor run(Workspace ws, Tensor x, int inTile, int step, int blend, int limit, IntUnaryOperator outSize,
                      UnaryOperator<Tensor> model, Runnable betweenTiles, Trace trace) {
        Objects.requireNonNull(betweenTiles, "betweenTiles");
        int b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int rows = (h + step - 1) / step, cols = (w + step - 1) / step;
        int[] tileOutH = new int[rows], tileOutW = new int[cols], cropY = new int[rows + 1], cropX = new int[cols + 1];
        for (int i = 0; i < rows; i++) {
            tileOutH[i] = outSize.applyAsInt(Math.min(inTile, h - i * step));
            cropY[i + 1] = cropY[i] + Math.min(limit, tileOutH[i]);
        }
        for (int j = 0; j < cols; j++) {
            tileOutW[j] = outSize.applyAsInt(Math.min(inTile, w - j * step));
            cropX[j + 1] = cropX[j] + Math.min(limit, tileOutW[j]);
        }
        Tensor out = null;
        Tensor[] above = new Tensor[cols];      // bottom strip (≤ blend rows) of the finished tile above, per column
        for (int i = 0; i < rows; i++) {
            Tensor left = null;                 // right strip (≤ blend columns) of the finished tile to the left
            Tensor[] below = new Tensor[cols];
            for (int j = 0; j < cols; j++) {
                betweenTiles.run();
                Tensor in = Elementwise.window(ws, x, i * step, j * step, Math.min(inTile, h - i * step), Math.min(inTile, w - j * step));
                Tensor t;
                try {
                    t = model.apply(in);
                } finally {
                    ws.release(in);
                }
                try {
                    if (t.rank() != 4 || t.dim(0) != b || t.dim(2) != tileOutH[i] || t.dim(3) != tileOutW[j]) {
                        throw new IllegalStateException("VAE tiling: tile (" + i + ", " + j + ") came out " + t
                                + ", expected [" + b + ", C, " + tileOutH[i] + ", " + tileOutW[j] + "]");
                    }
                    if (out == null) out = ws.take(b, t.dim(1), cropY[rows], cropX[cols]);   // the crops cover it exactly
                    trace.record("tile_" + i + "_" + j, t);
                    if (blend > 0) {
                        if (i > 0) blendRows(above[j], t, blend);
                        if (j > 0) blendColumns(left, t, blend);
                        below[j] = rowsStrip(t, Math.min(blend, t.dim(2)));
                        left = columnsStrip(t, Math.min(blend, t.dim(3)));
                    }
                    crop(t, out, cropY[i], cropX[j], Math.min(limit, t.dim(2)), Math.min(limit, t.dim(3)));
                } finally {
                    ws.release(t);
                }
            }
            above = below;
        }
        return out;
    }


    /** The last {@code n} rows of t, as a heap tensor. */
    private static Tensor rowsStrip(Tensor t, int n) {
        int p = t.dim(0) * t.dim(1), h = t.dim(2), w = t.dim(3);
        Tensor s = Tensor.zeros(t.dim(0), t.dim(1), n, w);
        for (int q = 0; q < p; q++) System.arraycopy(t.data(), (q * h + h - n) * w, s.data(), q * n * w, n * w);
        return s;
    }

    /** The last {@code n} columns of t, as a heap tensor. */
    private static Tensor columnsStrip(Tensor t, int n) {
        int p = t.dim(0) * t.dim(1), h = t.dim(2), w = t.dim(3);
        Tensor s = Tensor.zeros(t.dim(0), t.dim(1), h, n);
        for (int r = 0; r < p * h; r++) System.arraycopy(t.data(), r * w + w - n, s.data(), r * n, n);
        return s;
    }

    /**
     * diffusers' {@code blend_v}: with e = min(a.H, b.H, extent), row y &lt; e of b becomes
     * a[a.H − e + y]·(1 − y/e) + b[y]·(y/e); the weights are computed in double and applied as float32 scalars.
     * {@code a} holds the bottom rows of the tile above (at least e of them).
     */
    static void blendRows(Tensor a, Tensor b, int extent) {
        int p = b.dim(0) * b.dim(1), ah = a.dim(2), bh = b.dim(2), w = b.dim(3);
        int e = Math.min(Math.min(ah, bh), extent);
        float[] ad = a.data(), bd = b.data();
        for (int y = 0; y < e; y++) {
            float wa = (float) (1 - (double) y / e), wb = (float) ((double) y / e);
            for (int q = 0; q < p; q++) {
                int ao = (q * ah + ah - e + y) * w, bo = (q * bh + y) * w;
                for (int x = 0; x < w; x++) bd[bo + x] = ad[ao + x] * wa + bd[bo + x] * wb;
            }
        }
    }

    /** diffusers' {@code blend_h}: {@link #blendRows} along the width; {@code a} holds the right columns of the left tile. */
    static void blendColumns(Tensor a, Tensor b, int extent) {
        int p = b.dim(0) * b.dim(1), h = b.dim(2), aw = a.dim(3), bw = b.dim(3);
        int e = Math.min(Math.min(aw, bw), extent);
        float[] ad = a.data(), bd = b.data();
        for (int x = 0; x < e; x++) {
            float wa = (float) (1 - (double) x / e), wb = (float) ((double) x / e);
            for (int r = 0; r < p * h; r++) bd[r * bw + x] = ad[r * aw + aw - e + x] * wa + bd[r * bw + x] * wb;
        }
    }

    /** t[:, :, :ch, :cw] into out at (y0, x0). */
    private static void crop(Tensor t, Tensor out, int y0, int x0, int ch, int cw) {
        int p = t.dim(0) * t.dim(1), th = t.dim(2), tw = t.dim(3), oh = out.dim(2), ow = out.dim(3);
        for (int q = 0; q < p; q++) {
            for (int y = 0; y < ch; y++) System.arraycopy(t.data(), (q * th + y) * tw, out.data(), (q * oh + y0 + y) * ow + x0, cw);
        }
    }
}
