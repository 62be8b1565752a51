package io.sdj.models.pipeline;

import io.sdj.models.sampling.Sampler;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.sampling.Samplers;
import io.sdj.models.sampling.SchedulerConfig;

/** Builds the (stateful) sampler of one generation. */
@FunctionalInterface
public interface SamplerFactory {
    /** The engine's samplers ({@link Samplers#create}). */
    SamplerFactory STANDARD = Samplers::create;

    /** @throws IllegalArgumentException naming the problem when this sampler cannot run with these settings */
    Sampler create(SamplerKind kind, SchedulerConfig config, int steps);
}
