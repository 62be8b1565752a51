package io.sdj.models.pipeline;

import io.sdj.models.taesd.TaesdTiling;
import io.sdj.models.vae.VaeConfig;
import io.sdj.models.vae.VaeTiling;

import java.util.Locale;

/**
 * Whether the VAE works in tiles ({@link VaeTiling}, diffusers' {@code enable_tiling} with its default tile sizes):
 * {@link #ON} always (images larger than one tile are tiled), {@link #OFF} never, {@link #AUTO} only when an untiled
 * decode would need more than {@link #AUTO_LIMIT_BYTES} of activation memory.
 *
 * <p>The estimate: the SD VAE decoder's workspace peaks at about {@link #BYTES_PER_OUTPUT_PIXEL} bytes per output pixel
 * per image (measured: 1.35 GB at 512², one image, see README "Tiled VAE decoding"); it scales with the pixel count.
 * Above 2 GiB — beyond 640×640 or so — tiles are used: a 512² image still decodes in one piece (bit-identical to
 * diffusers without tiling), a 768² or 1024² image runs in 512² tiles and needs the memory of one tile.
 * The decision depends only on the image size, never on the JVM's heap, so a seed gives the same image everywhere.
 */
public enum VaeTilingMode {
    ON("on"),
    OFF("off"),
    AUTO("auto");

    /** Activation memory above which {@link #AUTO} tiles. */
    public static final long AUTO_LIMIT_BYTES = 2L << 30;
    /** Workspace bytes an untiled SD VAE decode takes per output pixel (of one image), rounded up. */
    public static final long BYTES_PER_OUTPUT_PIXEL = 5200;

    private final String cliName;

    VaeTilingMode(String cliName) { this.cliName = cliName; }

    public String cliName() { return cliName; }

    /**
     * The tiling a decode of an h×w latent runs with, or null for an untiled decode. The estimate is per image: the
     * batch shares the workspace buffers' sizes but not its peak, which grows with it.
     */
    public VaeTiling forDecode(VaeConfig c, int h, int w) {
        VaeTiling t = VaeTiling.defaults(c);
        return switch (this) {
            case OFF -> null;
            case ON -> t;
            case AUTO -> untiledDecodeBytes(c, h, w) > AUTO_LIMIT_BYTES ? t : null;
        };
    }

    /**
     * The tiling a TAESD decode of an h×w latent runs with ({@link TaesdTiling}: diffusers' {@code AutoencoderTiny}
     * tiling), or null for an untiled decode: {@link #AUTO} tiles when the untiled decode's estimated workspace
     * ({@link TaesdTiling#untiledDecodeBytes}) exceeds {@link #AUTO_LIMIT_BYTES}, i.e. above about 1400², so a 1024²
     * image still decodes in one piece and a 2048² one in 512² tiles.
     */
    public TaesdTiling forTaesdDecode(int h, int w) {
        return switch (this) {
            case OFF -> null;
            case ON -> TaesdTiling.defaults();
            case AUTO -> TaesdTiling.untiledDecodeBytes(h, w) > AUTO_LIMIT_BYTES ? TaesdTiling.defaults() : null;
        };
    }

    /** The tiling an encode of an H×W image runs with, or null: the same rule, on the image size. */
    public VaeTiling forEncode(VaeConfig c, int height, int width) {
        return forDecode(c, height / c.downscale(), width / c.downscale());
    }

    /**
     * The estimated workspace of an untiled decode of one h×w latent (output (f·h)×(f·w)): the SD VAE's measured
     * bytes per pixel, scaled by the width of the two full-resolution decoder stages relative to the SD VAE's 128 + 256.
     */
    public static long untiledDecodeBytes(VaeConfig c, int h, int w) {
        long f = c.downscale();
        int full = c.channels(0) + c.channels(Math.min(1, c.blockCount() - 1));
        return BYTES_PER_OUTPUT_PIXEL * full / 384 * (f * h) * (f * w);
    }

    public static VaeTilingMode parse(String s) {
        String k = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        return switch (k) {
            case "on", "true", "yes" -> ON;
            case "off", "false", "no" -> OFF;
            case "auto" -> AUTO;
            default -> throw new IllegalArgumentException("unknown VAE tiling '" + s + "' (use on, off or auto)");
        };
    }
}
