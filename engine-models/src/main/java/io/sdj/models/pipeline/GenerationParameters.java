package io.sdj.models.pipeline;

import io.sdj.models.sampling.SamplerKind;

import java.util.Locale;

/**
 * The generation settings as the AUTOMATIC1111 web UI writes them into a PNG "parameters" text chunk:
 * the prompt, a "Negative prompt:" line when there is one, then
 * {@code Steps: N, Sampler: X, CFG scale: F, Seed: S, Size: WxH, Model: M}; img2img and inpainting add
 * {@code Denoising strength: S} (Steps stays the scheduled count, as in A1111, which runs strength × steps of them),
 * inpainting also {@code Mask blur: 0} (the keys A1111's img2img tab writes; the mask is used as given, unblurred).
 * {@code RNG: CPU} or {@code RNG: NV} names the noise source as A1111 does for sources other than its default "GPU"
 * (so A1111 reproduces the seed with the right generator: our default is torch's CPU generator, which A1111 calls
 * CPU; {@code --rng cuda} is A1111's NV, equal to a GPU's draws); {@code Emphasis: None} marks the plain prompt syntax
 * when a prompt has brackets (where A1111 writes it too).
 */
public final class GenerationParameters {
    private GenerationParameters() {}

    /** The parameters of image {@code batchIndex} of a run that used {@code sampler} for {@code steps} steps. */
    public static String text(GenerationRequest r, SamplerKind sampler, int steps, String model, int batchIndex) {
        return text(r, sampler, steps, model, batchIndex, java.util.List.of());
    }

    /**
     * As above, with the LoRAs merged into the model: a LoRA the prompt does not name gets its {@code <lora:name:m>}
     * tag appended to the prompt (so the text reproduces the image in other tools), and
     * {@code Lora hashes: "name: hash, ..."} (A1111's short hashes) ends the settings line.
     */
    public static String text(GenerationRequest r, SamplerKind sampler, int steps, String model, int batchIndex, java.util.List<AppliedLora> loras) {
        StringBuilder sb = new StringBuilder(r.prompt());
        java.util.Set<String> tagged = new java.util.HashSet<>();
        for (LoraTags.Tag t : LoraTags.parse(r.prompt())) tagged.add(t.name());
        for (AppliedLora l : loras) if (!tagged.contains(l.name())) sb.append(" <lora:").append(l.name()).append(':').append(number(l.multiplier())).append('>');
        if (!r.negativePrompt().isEmpty()) sb.append("\nNegative prompt: ").append(r.negativePrompt());
        sb.append("\nSteps: ").append(steps)
                .append(", Sampler: ").append(displayName(sampler))
                .append(", CFG scale: ").append(number(r.guidance()))
                .append(", Seed: ").append(Long.toUnsignedString(r.seed()))
                .append(", Size: ").append(r.width()).append('x').append(r.height())
                .append(", Model: ").append(model == null || model.isEmpty() ? "unknown" : model.replace(",", " ").replace("\n", " "));
        if (r.clipSkip() > 0) sb.append(", Clip skip: ").append(r.clipSkip() + 1);
        if (r.decoder() == DecoderKind.TAESD) sb.append(", VAE: TAESD");
        if (r.mode() != GenerationMode.TXT2IMG) sb.append(", Denoising strength: ").append(strength(r.effectiveStrength()));
        if (r.mode() == GenerationMode.INPAINT) sb.append(", Mask blur: 0");
        sb.append(", RNG: ").append(r.rng().a1111Name());
        if (r.promptSyntax() == io.sdj.models.clip.PromptSyntax.PLAIN && hasBrackets(r)) sb.append(", Emphasis: None");
        if (r.batch() > 1) sb.append(", Batch size: ").append(r.batch()).append(", Batch pos: ").append(batchIndex);
        if (!loras.isEmpty()) {
            StringBuilder h = new StringBuilder();
            for (AppliedLora l : loras) {
                if (h.length() > 0) h.append(", ");
                h.append(l.name().replace(":", "").replace(",", "").replace("\"", "")).append(": ").append(l.shortHash());
            }
            sb.append(", Lora hashes: \"").append(h).append('"');
        }
        return sb.toString();
    }

    private static boolean hasBrackets(GenerationRequest r) {
        String t = r.prompt() + r.negativePrompt();
        return t.contains("(") || t.contains("[");
    }

    /** The sampler names the A1111 web UI uses. */
    public static String displayName(SamplerKind k) {
        return switch (k) {
            case DDIM -> "DDIM";
            case PNDM -> "PLMS";
            case EULER -> "Euler";
            case EULER_ANCESTRAL -> "Euler a";
            case DPMPP_2M -> "DPM++ 2M";
            case LCM -> "LCM";
            case ONE_STEP -> "One step";
        };
    }

    /** 0.6 for 0.6, 1 for 1.0 (A1111 writes the slider value). */
    static String strength(double v) {
        if (v == Math.rint(v)) return String.format(Locale.ROOT, "%d", (long) v);
        return Double.toString(v);
    }

    /** 7 for 7.0, 7.5 for 7.5 (shortest round-trip form otherwise). */
    static String number(float v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e7) return String.format(Locale.ROOT, "%d", (long) v);
        return Float.toString(v);
    }
}
