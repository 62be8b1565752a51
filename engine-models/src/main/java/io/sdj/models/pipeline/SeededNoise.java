package io.sdj.models.pipeline;

/**
 * Standard-normal draws for one generation: the initial latents come first, then any noise a stochastic sampler
 * asks for, all from the one generator, as diffusers does with a CPU {@code torch.Generator}.
 */
@FunctionalInterface
public interface SeededNoise {
    /** {@code numel(shape)} standard-normal floats, row-major. */
    float[] next(int... shape);
}
