/**
 * Where a UNet's time goes, part by part: {@link io.sdj.models.profile.UNetProfiler} runs a real forward pass with a
 * {@link io.sdj.models.profile.PartClock} as its trace (the model marks the end of every resnet, attention, transformer
 * sub-layer and resampler) and puts the timings beside each part's parameters and FLOPs
 * ({@link io.sdj.models.profile.UNetProfile}) — SnapFusion's per-block latency breakdown of the UNet, on a CPU.
 */
package io.sdj.models.profile;
