package io.sdj.models;

import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.unet.UNetCost;
import io.sdj.models.vae.VaeConfig;
import io.sdj.models.vae.VaeDecoderCost;

import java.util.List;
import java.util.Locale;

/**
 * The full-size architectures shipped with the engine (configs only, no weights), under the names
 * {@code sdj arch} lists: the papers' UNets (SD 1.5, BK-SDM, SnapFusion, MobileDiffusion) and image decoders (SD VAE,
 * SnapFusion's 50%-channel decoder, TAESD). A UNet's config is the bundled resource {@link UNetConfig#bundled}, a
 * VAE's the resource beside {@link VaeConfig}; TAESD has no config ({@code Decoder(4)}). Counts come from the config
 * alone ({@link UNetCost}, {@link VaeDecoderCost}, {@link TaesdDecoder#flops(int, int, int, int)}).
 *
 * @param name      the name {@code sdj arch} and {@code sdj profile --arch} use
 * @param component what one evaluation is: the UNet, or a decoder's latent → image pass
 * @param resource  the bundled config's name (UNet: {@link UNetConfig#BUNDLED} entry; VAE: resource file), or null
 * @param source    where the config comes from (paper, upstream file), and whether it is a reconstruction
 */
public record Architecture(String name, Component component, String resource, String source) {

    /** What is evaluated. */
    public enum Component {
        UNET("UNet"), VAE_DECODER("VAE decode"), TAESD_DECODER("TAESD decode");

        private final String label;

        Component(String label) { this.label = label; }

        public String label() { return label; }
    }

    /** Text tokens the UNet's cross-attention sees in every count (one CLIP chunk). */
    public static final int TEXT_TOKENS = 77;

    public static final List<Architecture> ALL = List.of(
            unet("sd15", "Stable Diffusion v1.5, runwayml/stable-diffusion-v1-5 unet/config.json; stated config"),
            unet("bk-sdm-base", "BK-SDM-Base (Kim et al. 2023, arXiv:2305.15798), Nota-NetsPresso/BK-SDM src/unet_config/bk_base; stated config"),
            unet("bk-sdm-small", "BK-SDM-Small, Nota-NetsPresso/BK-SDM src/unet_config/bk_small (Base without mid block); stated config"),
            unet("bk-sdm-tiny", "BK-SDM-Tiny, Nota-NetsPresso/BK-SDM src/unet_config/bk_tiny (Small without the innermost stage); stated config"),
            unet("snapfusion", "SnapFusion (Li et al. 2023, arXiv:2306.00980) efficient UNet; reconstruction: SD 1.5 without transformers at the 64×64 latent level"),
            unet("mobilediffusion", "MobileDiffusion (Zhao et al. 2023, arXiv:2311.16567); reconstruction fitted to the paper's description (efficient-block keys)"),
            unet("mobilediffusion-lite", "MobileDiffusion-Lite (same paper); reconstruction: narrower MobileDiffusion with the same block rules"),
            new Architecture("sd-vae", Component.VAE_DECODER, "sd-vae.json", "Stable Diffusion v1.5 VAE, vae/config.json (decode path); stated config"),
            new Architecture("snapfusion-decoder", Component.VAE_DECODER, "snapfusion-decoder.json",
                    "SnapFusion efficient image decoder; reconstruction: SD VAE with every block_out_channels entry halved (decode path)"),
            new Architecture("taesd", Component.TAESD_DECODER, null,
                    "TAESD (madebyollin/taesd, taesd.py Decoder(4)), the tiny autoencoder for SD 1.x/2.x latents; stated architecture"));

    private static Architecture unet(String name, String source) {
        return new Architecture(name, Component.UNET, name, source);
    }

    /** The bundled architecture with this name; the error lists the known names. */
    public static Architecture named(String name) {
        for (Architecture a : ALL) if (a.name.equals(name)) return a;
        throw new IllegalArgumentException("unknown architecture '" + name + "' (known: " + String.join(", ", names()) + ")");
    }

    public static List<String> names() { return ALL.stream().map(Architecture::name).toList(); }

    public boolean isUNet() { return component == Component.UNET; }

    /** The UNet config (UNet architectures only). */
    public UNetConfig unetConfig() {
        if (!isUNet()) throw new IllegalStateException(name + " is not a UNet");
        return UNetConfig.fromJson(UNetConfig.bundled(resource));
    }

    /** The VAE config (VAE decoders only). */
    public VaeConfig vaeConfig() {
        if (component != Component.VAE_DECODER) throw new IllegalStateException(name + " is not a VAE");
        return VaeConfig.fromResource(resource);
    }

    /** Parameters of what one evaluation uses: the whole UNet, or the decode path ({@code post_quant_conv} + decoder). */
    public long parameters() {
        return switch (component) {
            case UNET -> UNetCost.parameters(unetConfig());
            case VAE_DECODER -> VaeDecoderCost.parameters(vaeConfig());
            case TAESD_DECODER -> TaesdDecoder.parameters(4);
        };
    }

    /** FLOPs (2 × multiply-adds) of one evaluation at batch 1 on an h×w latent ({@value #TEXT_TOKENS} text tokens for a UNet). */
    public long flops(int h, int w) {
        return switch (component) {
            case UNET -> UNetCost.flops(unetConfig(), 1, h, w, TEXT_TOKENS);
            case VAE_DECODER -> VaeDecoderCost.flops(vaeConfig(), 1, h, w);
            case TAESD_DECODER -> TaesdDecoder.flops(4, 1, h, w);
        };
    }

    /** Multiply-accumulates of one evaluation at batch 1 on an h×w latent. */
    public long macs(int h, int w) { return flops(h, w) / 2; }

    @Override
    public String toString() { return String.format(Locale.ROOT, "%s (%s)", name, component.label()); }
}
