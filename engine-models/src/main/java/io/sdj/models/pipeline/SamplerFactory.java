package io.sdj.models.pipeline;

/** Builds the sampler of one generation from the model's scheduler configuration. */
@FunctionalInterface
public interface SamplerFactory {
    /**
     * @param noise where stochastic samplers take their noise (the generator that drew the initial latents)
     * @throws IllegalArgumentException naming the problem when this sampler cannot run with these settings
     */
    PipelineSampler create(SamplerKind kind, int steps, SeededNoise noise);
}
