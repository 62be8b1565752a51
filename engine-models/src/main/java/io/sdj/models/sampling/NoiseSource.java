package io.sdj.models.sampling;

/**
 * Where a stochastic sampler step (ancestral Euler, LCM, DDIM with eta &gt; 0) takes its standard-normal noise from:
 * one call per draw, returning {@code numel(shape)} floats in row-major order. A {@link TorchGenerator} is one
 * (it reproduces diffusers' draws with a CPU generator); tests supply recorded noise instead.
 */
@FunctionalInterface
public interface NoiseSource {
    float[] next(int... shape);
}
