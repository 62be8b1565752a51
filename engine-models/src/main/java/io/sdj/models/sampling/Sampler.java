package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * One denoising loop (one generation): build a sampler per image — it keeps the per-generation state (step index,
 * multistep history) inside the instance; the shared constants live in an immutable {@link NoiseSchedule}.
 *
 * <pre>
 * x = noise · initNoiseSigma()
 * for t in timesteps():
 *     eps = model(scaleModelInput(x, t), t)
 *     x = step(eps, t, x, noise).prevSample()
 * </pre>
 * Arithmetic follows the diffusers 0.25.1 scheduler of the same kind (float32 tensors, float64 NumPy set-up),
 * checked against its outputs at every step.
 */
public interface Sampler {

    SamplerKind kind();

    /** The (resolved) configuration this sampler runs with. */
    SchedulerConfig config();

    /** The timesteps passed to the model, one per step, in order. Integer-valued unless {@link #integerTimesteps()} is false. */
    float[] timesteps();

    /** True when the timesteps are integers (diffusers' int64 timesteps); Euler-family samplers use float timesteps. */
    default boolean integerTimesteps() { return true; }

    /** Number of model evaluations = {@code timesteps().length}. */
    default int numSteps() { return timesteps().length; }

    /** Standard deviation of the initial noise: the starting sample is {@code noise × initNoiseSigma()}. */
    float initNoiseSigma();

    /** The noise levels σ of the Karras-style samplers (with the final one appended), or an empty array. */
    default float[] sigmas() { return new float[0]; }

    /** The model input for timestep t (σ-scaled for the Euler family, unchanged otherwise). Never modifies {@code sample}. */
    Tensor scaleModelInput(Tensor sample, float t);

    /**
     * One denoising step from timestep t: {@code modelOutput} is the (guided) model prediction for
     * {@code scaleModelInput(sample, t)}. Stochastic samplers draw their noise from {@code noise} (may be null for
     * deterministic ones). Never modifies its inputs.
     */
    StepResult step(Tensor modelOutput, float t, Tensor sample, NoiseSource noise);

    /**
     * The output of one step.
     *
     * @param prevSample         the sample for the next timestep
     * @param predOriginalSample the predicted clean sample, or null when the sampler does not produce one (PNDM,
     *                           DPM-Solver++); LCM gives its denoised sample
     */
    record StepResult(Tensor prevSample, Tensor predOriginalSample) { }
}
