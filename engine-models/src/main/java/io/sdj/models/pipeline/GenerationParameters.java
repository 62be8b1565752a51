package io.sdj.models.pipeline;

import java.util.Locale;

/**
 * The generation settings as the AUTOMATIC1111 web UI writes them into a PNG "parameters" text chunk:
 * the prompt, a "Negative prompt:" line when there is one, then
 * {@code Steps: N, Sampler: X, CFG scale: F, Seed: S, Size: WxH, Model: M}.
 */
public final class GenerationParameters {
    private GenerationParameters() {}

    public static String text(GenerationRequest r, String model, int batchIndex) {
        StringBuilder sb = new StringBuilder(r.prompt());
        if (!r.negativePrompt().isEmpty()) sb.append("\nNegative prompt: ").append(r.negativePrompt());
        sb.append("\nSteps: ").append(r.steps())
                .append(", Sampler: ").append(r.sampler().displayName())
                .append(", CFG scale: ").append(number(r.guidance()))
                .append(", Seed: ").append(r.seed())
                .append(", Size: ").append(r.width()).append('x').append(r.height())
                .append(", Model: ").append(model == null || model.isEmpty() ? "unknown" : model.replace(",", " ").replace("\n", " "));
        if (r.clipSkip() > 0) sb.append(", Clip skip: ").append(r.clipSkip() + 1);
        if (r.decoder() == DecoderKind.TAESD) sb.append(", VAE: TAESD");
        if (r.batch() > 1) sb.append(", Batch size: ").append(r.batch()).append(", Batch pos: ").append(batchIndex);
        return sb.toString();
    }

    /** 7 for 7.0, 7.5 for 7.5 (shortest round-trip form otherwise). */
    static String number(float v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e7) return String.format(Locale.ROOT, "%d", (long) v);
        return Float.toString(v);
    }
}
