package io.sdj.models.pipeline;

import io.sdj.models.Trace;
import io.sdj.models.clip.PromptSyntax;
import io.sdj.models.sampling.RngKind;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.sampling.SamplerKind;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * Everything one text-to-image call needs, validated on construction (build it with {@link #builder()}).
 * {@code negativePrompt} may be empty. Sampling: {@code schedule} (a named recipe such as 8-step, which fixes sampler
 * and steps) or {@code sampler}/{@code steps}; null means the model's default ({@link NamedSchedule#DEFAULT}).
 * {@code initialLatents} (optional, [batch·C·h·w] floats) replaces the seeded draw of the starting noise, as diffusers'
 * {@code latents=} (img2img: the noise added to the encoded image).
 * <p>Modes ({@link #mode()}): no {@code initImage} = text-to-image; an {@code initImage} = image-to-image, noised to
 * {@code strength} (0 &lt; strength ≤ 1, default 0.8 as diffusers) and denoised from there; an {@code initImage} and a
 * {@code mask} (white = repaint) = inpainting (strength default 1). The images are resized to width × height
 * (PIL Lanczos, as diffusers); without an explicit size that is the init image's size rounded down to multiples of 8.
 * <p>{@code promptSyntax}: A1111 weights and {@code BREAK} (default) or plain text; either way long prompts are encoded
 * in 75-token chunks. {@code rng}: where the seeded noise comes from (default {@link RngKind#CPU}, diffusers' CPU
 * generator). {@code vaeTiling}: whether the VAE decodes (and encodes) in tiles (default {@link VaeTilingMode#AUTO}).
 */
public record GenerationRequest(String prompt, String negativePrompt, Integer steps, SamplerKind sampler,
                                NamedSchedule schedule, float guidance,
                                long seed, int width, int height, DecoderKind decoder, int batch, int clipSkip,
                                float[] initialLatents, ProgressListener listener, Cancellation cancellation,
                                Trace trace, Consumer<String> warnings, RgbImage initImage, Double strength, RgbImage mask,
                                PromptSyntax promptSyntax, RngKind rng, VaeTilingMode vaeTiling) {

    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        negativePrompt = negativePrompt == null ? "" : negativePrompt;
        Objects.requireNonNull(decoder, "decoder");
        if (steps != null && steps < 1) throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        if (steps != null && steps > 1000) throw new IllegalArgumentException("steps must be at most 1000, got " + steps);
        if (schedule != null && steps != null) {
            throw new IllegalArgumentException("give either steps or a named schedule (" + schedule.key() + "), not both");
        }
        if (!Float.isFinite(guidance) || guidance < 0) {
            throw new IllegalArgumentException("guidance (cfg) must be a finite number ≥ 0, got " + guidance);
        }
        checkSize("width", width);
        checkSize("height", height);
        if (batch < 1 || batch > 64) throw new IllegalArgumentException("batch must be between 1 and 64, got " + batch);
        if (clipSkip < 0 || clipSkip > 1) throw new IllegalArgumentException("clip skip must be 0 or 1, got " + clipSkip);
        initialLatents = initialLatents == null ? null : initialLatents.clone();
        listener = listener == null ? ProgressListener.NONE : listener;
        cancellation = cancellation == null ? new Cancellation() : cancellation;
        trace = trace == null ? Trace.NONE : trace;
        promptSyntax = promptSyntax == null ? PromptSyntax.A1111 : promptSyntax;
        rng = rng == null ? RngKind.CPU : rng;
        vaeTiling = vaeTiling == null ? VaeTilingMode.AUTO : vaeTiling;
        if (mask != null && initImage == null) throw new IllegalArgumentException("a mask needs an init image (the image to inpaint)");
        if (strength != null) {
            if (initImage == null) throw new IllegalArgumentException("strength needs an init image (it sets how much of it is repainted)");
            if (!(strength > 0 && strength <= 1)) throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
        }
    }

    /** Which pipeline runs: inpainting (init image + mask), image-to-image (init image) or text-to-image. */
    public GenerationMode mode() {
        return initImage == null ? GenerationMode.TXT2IMG : mask == null ? GenerationMode.IMG2IMG : GenerationMode.INPAINT;
    }

    /** The strength that runs: as given, else diffusers' default (img2img 0.8, inpainting 1.0); 1 for text-to-image. */
    public double effectiveStrength() {
        if (strength != null) return strength;
        return mode() == GenerationMode.IMG2IMG ? 0.8 : 1.0;
    }

    /** Where warnings (a prompt truncated to the text encoder's 77 tokens) go; null = java.util.logging. */
    @Override
    public Consumer<String> warnings() { return warnings; }

    private static void checkSize(String what, int v) {
        if (v < 8 || v % 8 != 0) throw new IllegalArgumentException(what + " must be a positive multiple of 8, got " + v);
        if (v > 4096) throw new IllegalArgumentException(what + " must be at most 4096, got " + v);
    }

    /** Whether the UNet runs on [negative, positive] and mixes them (guidance > 1). */
    public boolean classifierFreeGuidance() { return guidance > 1f; }

    @Override
    public float[] initialLatents() { return initialLatents == null ? null : initialLatents.clone(); }

    /** The same request with another prompt (the pipeline strips A1111 LoRA tags before encoding). */
    public GenerationRequest withPrompt(String p) {
        return new GenerationRequest(p, negativePrompt, steps, sampler, schedule, guidance, seed, width, height, decoder, batch, clipSkip,
                initialLatents, listener, cancellation, trace, warnings, initImage, strength, mask, promptSyntax, rng, vaeTiling);
    }

    public static Builder builder() { return new Builder(); }

    /**
     * Defaults: the model's sampler and steps, guidance 7.5, seed 0, 512×512, VAE decoder, batch 1, no clip skip, A1111
     * prompt syntax, CPU noise, VAE tiling when the image is large ({@link VaeTilingMode#AUTO}).
     */
    public static final class Builder {
        private String prompt = "", negative = "";
        private int width = 512, height = 512, batch = 1, clipSkip = 0;
        private Integer steps;
        private SamplerKind sampler;
        private NamedSchedule schedule;
        private float guidance = 7.5f;
        private long seed;
        private DecoderKind decoder = DecoderKind.VAE;
        private float[] latents;
        private ProgressListener listener;
        private Cancellation cancellation;
        private Trace trace;
        private Consumer<String> warnings;
        private RgbImage initImage, mask;
        private Double strength;
        private boolean sizeSet;
        private PromptSyntax promptSyntax;
        private RngKind rng;
        private VaeTilingMode vaeTiling;

        public Builder prompt(String v) { prompt = v; return this; }
        public Builder negativePrompt(String v) { negative = v; return this; }
        public Builder steps(Integer v) { steps = v; return this; }
        public Builder sampler(SamplerKind v) { sampler = v; return this; }
        public Builder schedule(NamedSchedule v) { schedule = v; return this; }
        public Builder guidance(float v) { guidance = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder size(int w, int h) { width = w; height = h; sizeSet = true; return this; }
        public Builder decoder(DecoderKind v) { decoder = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder clipSkip(int v) { clipSkip = v; return this; }
        public Builder initialLatents(float[] v) { latents = v; return this; }
        public Builder listener(ProgressListener v) { listener = v; return this; }
        public Builder cancellation(Cancellation v) { cancellation = v; return this; }
        public Builder trace(Trace v) { trace = v; return this; }
        public Builder warnings(Consumer<String> v) { warnings = v; return this; }
        /** The image to start from (img2img, or inpainting with {@link #mask}). */
        public Builder initImage(RgbImage v) { initImage = v; return this; }
        /** How far the init image is noised: 1 = fully (all steps run), 0.5 = half the steps. */
        public Builder strength(Double v) { strength = v; return this; }
        public Builder strength(double v) { strength = v; return this; }
        /** Inpainting mask: white (≥ 50 % grey) = repaint, black = keep. */
        public Builder mask(RgbImage v) { mask = v; return this; }

        /** How prompt text is read: A1111 weights (default) or plain. */
        public Builder promptSyntax(PromptSyntax v) { promptSyntax = v; return this; }
        /** Where the seeded noise comes from: CPU (default, diffusers' CPU generator) or CUDA (torch's Philox stream). */
        public Builder rng(RngKind v) { rng = v; return this; }
        /** VAE tiling: on, off or auto (default: tiles when an untiled decode would need a lot of memory). */
        public Builder vaeTiling(VaeTilingMode v) { vaeTiling = v; return this; }

        public GenerationRequest build() {
            int w = width, h = height;
            if (initImage != null && !sizeSet) {
                int[] d = ImagePreprocessor.defaultSize(initImage, 8);
                if (d[0] < 8 || d[1] < 8) {
                    throw new IllegalArgumentException("init image " + initImage.width() + "×" + initImage.height() + " is smaller than 8×8");
                }
                w = d[0];
                h = d[1];
            }
            return new GenerationRequest(prompt, negative, steps, sampler, schedule, guidance, seed, w, h, decoder, batch,
                    clipSkip, latents, listener, cancellation, trace, warnings, initImage, strength, mask, promptSyntax, rng, vaeTiling);
        }
    }
}
