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
 * the pipeline (may be null).
 */
public record PipelineParts(ClipTokenizer tokenizer, ClipTextModel textEncoder, Denoiser denoiser, int latentChannels,
                            int timeCondProjDim, LatentDecoder vae, LatentDecoder taesd, int vaeScaleFactor,
                            SchedulerConfig schedulerConfig, SamplerFactory samplers, LongFunction<NoiseSource> noise,
                            String modelName, AutoCloseable resources) {
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
    }
}
