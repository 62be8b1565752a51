package io.sdj.models.pipeline;

import io.sdj.models.sampling.SamplerKind;

import java.util.List;

/**
 * The outcome of one generation: the images (one per batch row), the pixels before quantisation
 * ([batch, H, W, 3] floats in [0, 1], as diffusers' {@code output_type="np"}), the sampler that ran and its
 * timesteps (the executed ones: img2img runs the tail of the schedule), the number of steps the schedule was made
 * for, the timing breakdown, the request ({@link #mode()} says which pipeline ran) and the LoRAs merged into the model.
 */
public record GenerationResult(List<RgbImage> images, float[] pixels, SamplerKind sampler, float[] timesteps,
                               Timings timings, GenerationRequest request, String modelName, int scheduledSteps,
                               List<AppliedLora> loras) {
    public GenerationResult(List<RgbImage> images, float[] pixels, SamplerKind sampler, float[] timesteps,
                            Timings timings, GenerationRequest request, String modelName) {
        this(images, pixels, sampler, timesteps, timings, request, modelName, timesteps.length);
    }

    public GenerationResult(List<RgbImage> images, float[] pixels, SamplerKind sampler, float[] timesteps,
                            Timings timings, GenerationRequest request, String modelName, int scheduledSteps) {
        this(images, pixels, sampler, timesteps, timings, request, modelName, scheduledSteps, List.of());
    }

    public GenerationResult {
        loras = List.copyOf(loras);
        images = List.copyOf(images);
        pixels = pixels.clone();
        timesteps = timesteps.clone();
    }

    /** The model timestep of every step, in order. */
    @Override
    public float[] timesteps() { return timesteps.clone(); }

    @Override
    public float[] pixels() { return pixels.clone(); }

    /**
     * The A1111-style "parameters" text of image {@code index}. All rows of a batch come from one seeded draw (as in
     * diffusers), so a batch image names the seed plus its batch size and position.
     */
    public String parameters(int index) {
        if (index < 0 || index >= images.size()) throw new IndexOutOfBoundsException("image " + index + " of " + images.size());
        return GenerationParameters.text(request, sampler, scheduledSteps, modelName, index, loras);
    }

    /** Which pipeline ran (text-to-image, img2img, inpainting). */
    public GenerationMode mode() { return request.mode(); }
}
