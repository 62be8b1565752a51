package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

/**
 * One configured sampling run as the pipeline drives it (diffusers' scheduler protocol): the model timestep of every
 * step, the initial noise scale, input scaling and the update from a model output to the next latents.
 * Stateful (multistep samplers keep history): one instance per generation.
 */
public interface PipelineSampler {
    /** The model timestep of each step (its length is the number of UNet evaluations). */
    float[] timesteps();

    /** Factor applied to the initial Gaussian latents. */
    float initNoiseSigma();

    /** The UNet input for step {@code i} (a new tensor taken from {@code ws}). */
    Tensor scaleModelInput(Workspace ws, Tensor sample, int i);

    /** The latents after step {@code i} (a new tensor taken from {@code ws}; {@code sample} is left untouched). */
    Tensor step(Workspace ws, Tensor modelOutput, int i, Tensor sample);
}
