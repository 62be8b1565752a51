package io.sdj.models.pipeline;

import java.util.Locale;

/** Which network turns the final latents into pixels. */
public enum DecoderKind {
    /** The model's AutoencoderKL decoder (full quality). */
    VAE,
    /** The tiny TAESD decoder (fast preview quality). */
    TAESD;

    public static DecoderKind parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "vae" -> VAE;
            case "taesd" -> TAESD;
            default -> throw new IllegalArgumentException("unknown decoder '" + s + "' (expected vae or taesd)");
        };
    }

    public String cliName() { return name().toLowerCase(Locale.ROOT); }
}
