/**
 * Samplers (diffusion schedulers) and the PyTorch-compatible random generator.
 *
 * <ul>
 *   <li>{@link io.sdj.models.sampling.SchedulerConfig}: a diffusers scheduler config read with {@code from_config}
 *   semantics (unknown keys ignored, class defaults for absent keys, unsupported values refused naming key and value).</li>
 *   <li>{@link io.sdj.models.sampling.NoiseSchedule}: betas and ᾱ with PyTorch's float32 arithmetic (bit-identical
 *   to diffusers 0.25.1 on CPU).</li>
 *   <li>{@link io.sdj.models.sampling.Sampler}, one class per sampler — {@code DdimSampler}, {@code PndmSampler},
 *   {@code EulerSampler}, {@code EulerAncestralSampler}, {@code DpmSolverMultistepSampler}, {@code LcmSampler},
 *   {@code OneStepSampler} — built per generation by {@link io.sdj.models.sampling.Samplers#create} or a
 *   {@link io.sdj.models.sampling.NamedSchedule} ({@code default}, {@code 8-step}, {@code 1-step}).</li>
 *   <li>{@link io.sdj.models.sampling.TorchGenerator}: {@code torch.randn} on a CPU generator, bit for bit, so seeds
 *   reproduce diffusers' latents and ancestral noise.</li>
 * </ul>
 * Checked against the golden cases {@code scheduler-*} (every timestep, σ, scaled input, previous sample and x₀
 * estimate of every run) and {@code rng-torch-cpu}; run {@code sdj verify} on them.
 */
package io.sdj.models.sampling;
