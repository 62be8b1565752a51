package io.sdj.models.vae;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.ops.Conv2d;

import java.util.Arrays;

/**
 * diffusers {@code AutoencoderKL} (the SD VAE), weights by diffusers state_dict keys. Either half may be absent from
 * the weights (a decoder-only file): the missing half refuses to run with a message saying so.
 * <ul>
 *   <li>{@link #decode}: z (already divided by {@link #scalingFactor()}) → post_quant_conv → decoder → image,
 *       roughly in [−1, 1], not clamped. {@link #decodeLatents} takes UNet-space latents and divides first.</li>
 *   <li>{@link #encode}: image in [−1, 1] → encoder → quant_conv → {@link LatentDistribution}; UNet-space latents
 *       are {@code sample · scalingFactor}.</li>
 * </ul>
 * Thread-safe after loading (no mutable state); parallelism is inside the kernels.
 */
public final class AutoencoderKL {
    private final VaeConfig config;
    private final VaeEncoder encoder;
    private final VaeDecoder decoder;
    private final Conv2d quantConv, postQuantConv;
    private final String origin;

    private AutoencoderKL(VaeConfig config, WeightSource w) {
        this.config = config;
        this.origin = w.origin();
        int l = config.latentChannels();
        boolean hasEncoder = w.contains("encoder.conv_in.weight");
        boolean hasDecoder = w.contains("decoder.conv_in.weight");
        if (!hasEncoder && !hasDecoder) {
            throw new IllegalArgumentException(origin + ": no AutoencoderKL weights (neither encoder.conv_in.weight nor decoder.conv_in.weight)");
        }
        this.encoder = hasEncoder ? new VaeEncoder(w.at("encoder"), config) : null;
        this.decoder = hasDecoder ? new VaeDecoder(w.at("decoder"), config) : null;
        this.quantConv = hasEncoder && config.useQuantConv()
                ? new Conv2d(w.get("quant_conv.weight").requireShape(2 * l, 2 * l, 1, 1), w.get("quant_conv.bias"), 1, 0) : null;
        this.postQuantConv = hasDecoder && config.usePostQuantConv()
                ? new Conv2d(w.get("post_quant_conv.weight").requireShape(l, l, 1, 1), w.get("post_quant_conv.bias"), 1, 0) : null;
    }

    public static AutoencoderKL load(JsonNode config, WeightSource weights) {
        return load(VaeConfig.fromJson(config), weights);
    }

    public static AutoencoderKL load(VaeConfig config, WeightSource weights) {
        io.sdj.core.VectorSupport.require();
        return new AutoencoderKL(config, weights);
    }

    public VaeConfig config() { return config; }

    public float scalingFactor() { return config.scalingFactor(); }

    public boolean hasEncoder() { return encoder != null; }

    public boolean hasDecoder() { return decoder != null; }

    /**
     * Decoder input z [N, latent, h, w] (already divided by the scaling factor) → image [N, out, 8h, 8w].
     * Traces {@code post_quant_conv} and the decoder's blocks. Does not release {@code z}.
     */
    public Tensor decode(Workspace ws, Tensor z, Trace trace) {
        if (decoder == null) throw new IllegalStateException(origin + ": this VAE has no decoder weights (decoder.*)");
        requireImage("VAE decode: latents", z, config.latentChannels(), 1);
        Tensor h = z;
        if (postQuantConv != null) {
            h = postQuantConv.forward(ws, z);
            trace.record("post_quant_conv", h);
        }
        Tensor y = decoder.forward(ws, h, trace);
        if (h != z) ws.release(h);
        return y;
    }

    /**
     * {@link #decode} with diffusers' tiling ({@link VaeTiling}) when the latent is larger than one tile, otherwise
     * the plain decode. {@code betweenTiles} runs before every tile (a cancellation check may throw from it); the
     * trace receives each raw tile as {@code tile_<row>_<col>}. Does not release {@code z}.
     */
    public Tensor decode(Workspace ws, Tensor z, VaeTiling tiling, Runnable betweenTiles, Trace trace) {
        requireImage("VAE decode: latents", z, config.latentChannels(), 1);
        if (tiling == null || !tiling.tilesLatent(z.dim(2), z.dim(3))) return decode(ws, z, trace);
        if (decoder == null) throw new IllegalStateException(origin + ": this VAE has no decoder weights (decoder.*)");
        int blend = tiling.decodeBlend(), f = config.downscale();
        return VaeTiling.run(ws, z, tiling.latentTile(), tiling.decodeStep(), blend, tiling.sampleTile() - blend, n -> n * f,
                tile -> decode(ws, tile, Trace.NONE), betweenTiles, trace);
    }

    /** Decodes UNet-space latents: {@code decode(latents / scalingFactor + shiftFactor)}. Does not release {@code latents}. */
    public Tensor decodeLatents(Workspace ws, Tensor latents, Trace trace) {
        return decodeLatents(ws, latents, null, () -> { }, trace);
    }

    /** {@link #decodeLatents(Workspace, Tensor, Trace)} with tiling as {@link #decode(Workspace, Tensor, VaeTiling, Runnable, Trace)}. */
    public Tensor decodeLatents(Workspace ws, Tensor latents, VaeTiling tiling, Runnable betweenTiles, Trace trace) {
        requireImage("VAE decode: latents", latents, config.latentChannels(), 1);
        Tensor z = ws.take(latents.shape());
        float[] src = latents.data(), dst = z.data();
        float s = config.scalingFactor(), shift = config.shiftFactor();
        for (int i = 0, n = latents.numel(); i < n; i++) dst[i] = src[i] / s + shift;
        Tensor y = decode(ws, z, tiling, betweenTiles, trace);
        ws.release(z);
        return y;
    }

    /**
     * Image x [N, in, H, W] in [−1, 1] (H, W multiples of 8 for SD) → latent distribution. Traces the encoder's
     * blocks. Does not release {@code x}; release the result with {@link LatentDistribution#release}.
     */
    public LatentDistribution encode(Workspace ws, Tensor x, Trace trace) {
        if (encoder == null) throw new IllegalStateException(origin + ": this VAE has no encoder weights (encoder.*)");
        requireImage("VAE encode: image", x, config.inChannels(), 1);
        return LatentDistribution.of(ws, encodeMoments(ws, x, trace));
    }

    /**
     * {@link #encode} with diffusers' tiling when the image is larger than one sample tile: the moments of the tiles
     * are blended as {@link VaeTiling} describes, then split into the distribution. Does not release {@code x}.
     */
    public LatentDistribution encode(Workspace ws, Tensor x, VaeTiling tiling, Runnable betweenTiles, Trace trace) {
        requireImage("VAE encode: image", x, config.inChannels(), 1);
        if (tiling == null || !tiling.tilesImage(x.dim(2), x.dim(3))) return encode(ws, x, trace);
        if (encoder == null) throw new IllegalStateException(origin + ": this VAE has no encoder weights (encoder.*)");
        int blend = tiling.encodeBlend(), down = config.blockCount() - 1;
        Tensor moments = VaeTiling.run(ws, x, tiling.sampleTile(), tiling.encodeStep(), blend, tiling.latentTile() - blend,
                n -> n >> down, tile -> encodeMoments(ws, tile, Trace.NONE), betweenTiles, trace);
        return LatentDistribution.of(ws, moments);
    }

    /** encoder → quant_conv: the moments [N, 2·latent, h, w]. */
    private Tensor encodeMoments(Workspace ws, Tensor x, Trace trace) {
        Tensor h = encoder.forward(ws, x, trace);
        if (quantConv == null) return h;
        Tensor moments = quantConv.forward(ws, h);
        ws.release(h);
        return moments;
    }

    /** FLOPs (2 × multiply-adds of convolutions, linears and attention matmuls) of one decode of n latents h×w. */
    public long decoderFlops(int n, int h, int w) {
        if (decoder == null) throw new IllegalStateException(origin + ": this VAE has no decoder weights");
        long l = config.latentChannels();
        return 2L * n * h * w * l * l + decoder.flops(n, h, w);
    }

    static void requireImage(String what, Tensor x, int channels, int minSize) {
        if (x.rank() != 4 || x.dim(1) != channels || x.dim(0) < 1 || x.dim(2) < minSize || x.dim(3) < minSize) {
            throw new IllegalArgumentException(what + " must be [N, " + channels + ", H, W], got shape " + Arrays.toString(x.shape()));
        }
    }
}
