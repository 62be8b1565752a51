package io.sdj.models.pipeline;

import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.clip.ClipTokenizer;
import io.sdj.models.sampling.NoiseSource;
import io.sdj.models.sampling.SchedulerConfig;

import java.util.Objects;
import java.util.function.LongFunction;

/**
 * The loaded pieces a {@link Txt2Img} runs: tokenizer, text encoder, denoiser (with its latent channel count and the
 * guidance-embedding width, 0 when the model has none), decoders (either may be null when the model lacks it),
 * the VAE's spatial factor, the model's scheduler config and samplers, the seeded generator (initial latents and
 * sampler noise come from the one generator, as in diffusers) and a display name. {@code resources} is closed with
 * the pipeline (may be null). {@code vaeEncoder}/{@code taesdEncoder} (either may be null) encode init images;
 * {@code denoiserInChannels} is the UNet's input width: {@code latentChannels}, or latent + 1 + latent for
 * inpainting models (mask and masked-image latents as extra input channels).
 */
public record PipelineParts(ClipTokenizer tokenizer, ClipTextModel textEncoder, Denoiser denoiser, int latentChannels,
                            int timeCondProjDim, LatentDecoder vae, LatentDecoder taesd, int vaeScaleFactor,
                            SchedulerConfig schedulerConfig, SamplerFactory samplers, LongFunction<NoiseSource> noise,
                            String modelName, AutoCloseable resources, LatentEncoder vaeEncoder, LatentEncoder taesdEncoder,
                            int denoiserInChannels) {
    public PipelineParts {
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(textEncoder, "textEncoder");
        Objects.requireNonNull(denoiser, "denoiser");
        Objects.requireNonNull(schedulerConfig, "schedulerConfig");
        Objects.requireNonNull(samplers, "samplers");
        Objects.requireNonNull(noise, "noise");
        if (latentChannels < 1) throw new IllegalArgumentException("latent channels must be ≥ 1, got " + latentChannels);
        if (vaeScaleFactor < 1) throw new IllegalArgumentException("VAE scale factor must be ≥ 1, got " + vaeScaleFactor);
        if (vae == null && taesd == null) throw new IllegalArgumentException("model has no decoder (neither vae nor taesd)");
        if (denoiserInChannels != latentChannels && denoiserInChannels != 2 * latentChannels + 1) {
            throw new IllegalArgumentException("the UNet takes " + denoiserInChannels + " input channels; expected " + latentChannels
                    + " (latents) or " + (2 * latentChannels + 1) + " (inpainting: latents, mask, masked-image latents)");
        }
    }

    /** Parts without image encoders, for a UNet that takes the latents alone. */
    public PipelineParts(ClipTokenizer tokenizer, ClipTextModel textEncoder, Denoiser denoiser, int latentChannels,
                         int timeCondProjDim, LatentDecoder vae, LatentDecoder taesd, int vaeScaleFactor,
                         SchedulerConfig schedulerConfig, SamplerFactory samplers, LongFunction<NoiseSource> noise,
                         String modelName, AutoCloseable resources) {
        this(tokenizer, textEncoder, denoiser, latentChannels, timeCondProjDim, vae, taesd, vaeScaleFactor, schedulerConfig,
                samplers, noise, modelName, resources, null, null, latentChannels);
    }

    /** Whether the UNet is an inpainting UNet (mask and masked-image latents as extra input channels). */
    public boolean inpaintingDenoiser() { return denoiserInChannels != latentChannels; }
}
