package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.models.sampling.NoiseSchedule;
import io.sdj.models.sampling.Sampler;
import io.sdj.models.sampling.SamplerKind;

/**
 * The schedulers' {@code add_noise}: clean latents noised to the level of one step of a sampler's schedule. The
 * σ-parameterised samplers (Euler, Euler ancestral, the one-step sampler with σ scaling) give {@code x + σ·noise}
 * (their model input is divided by √(σ²+1) later); the others (DDIM, PNDM, DPM-Solver++, LCM) give
 * {@code √ᾱ_t·x + √(1−ᾱ_t)·noise}, float32 as diffusers computes it.
 */
final class LatentNoising {
    private LatentNoising() {}

    /** {@code clean} [B, ...] noised with {@code noise} (same size) to the level of step {@code stepIndex}. */
    static Tensor addNoise(Sampler sampler, Tensor clean, float[] noise, int stepIndex) {
        int n = clean.numel();
        if (noise.length < n) throw new IllegalArgumentException("noise holds " + noise.length + " values, need " + n);
        float[] x = clean.data(), out = new float[n];
        float[] sigmas = sampler.sigmas();
        boolean sigmaSpace = sigmas.length > 0 && (sampler.kind() == SamplerKind.EULER || sampler.kind() == SamplerKind.EULER_ANCESTRAL
                || sampler.kind() == SamplerKind.ONE_STEP);
        if (sigmaSpace) {
            float s = sigmas[stepIndex];
            for (int i = 0; i < n; i++) out[i] = x[i] + noise[i] * s;
        } else {
            float t = sampler.timesteps()[stepIndex];
            float a = NoiseSchedule.of(sampler.config()).alphaCumprod((int) t);
            float sa = (float) Math.sqrt(a), sb = (float) Math.sqrt(1f - a);
            for (int i = 0; i < n; i++) out[i] = sa * x[i] + sb * noise[i];
        }
        return Tensor.of(out, clean.shape());
    }
}
