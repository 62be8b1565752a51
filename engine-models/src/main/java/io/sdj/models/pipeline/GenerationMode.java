package io.sdj.models.pipeline;

/**
 * Which diffusers pipeline a request runs: text-to-image ({@code StableDiffusionPipeline}), image-to-image
 * ({@code StableDiffusionImg2ImgPipeline}: an init image, no mask) or inpainting ({@code StableDiffusionInpaintPipeline}:
 * an init image and a mask).
 */
public enum GenerationMode {
    TXT2IMG("txt2img"), IMG2IMG("img2img"), INPAINT("inpaint");

    private final String key;

    GenerationMode(String key) { this.key = key; }

    /** Short name as the CLI prints it. */
    public String key() { return key; }
}
