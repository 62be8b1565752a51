/**
 * Text-to-image generation: {@link io.sdj.models.pipeline.Txt2Img} loads a model (flat file or diffusers folder,
 * see {@link io.sdj.models.pipeline.PipelineLoader}) and runs requests built with
 * {@code txt2img.request()...generate()}, returning an immutable {@link io.sdj.models.pipeline.GenerationResult}
 * (RGB images, float pixels, timesteps, {@link io.sdj.models.pipeline.Timings}). Progress goes to a
 * {@link io.sdj.models.pipeline.ProgressListener}, a {@link io.sdj.models.pipeline.Cancellation} stops a run within
 * one step. {@link io.sdj.models.pipeline.PngWriter} writes PNGs with the A1111 "parameters" text
 * ({@link io.sdj.models.pipeline.GenerationParameters}).
 */
package io.sdj.models.pipeline;
