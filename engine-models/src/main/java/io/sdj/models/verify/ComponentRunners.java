package io.sdj.models.verify;

/** Which {@link ComponentRunner} handles each {@code component} of the golden README. */
public final class ComponentRunners {
    private ComponentRunners() { }

    /** The runner for a component, or null when this build has no implementation of it yet. */
    public static ComponentRunner forComponent(String component) {
        return switch (component) {
            case "scheduler" -> new SchedulerCaseRunner();
            case "rng" -> new RngCaseRunner();
            case "rng_philox" -> new PhiloxCaseRunner();
            case "tokenizer" -> new TokenizerCaseRunner();
            case "text_encoder" -> new TextEncoderCaseRunner();
            case "prompt_weighting" -> new PromptWeightingCaseRunner();
            case "unet" -> new UNetCaseRunner();
            case "vae_decoder" -> new VaeCaseRunner(true);
            case "vae_encoder" -> new VaeCaseRunner(false);
            case "vae_tiled_decoder" -> new VaeTiledCaseRunner();
            case "taesd_decoder" -> new TaesdCaseRunner(true);
            case "taesd_encoder" -> new TaesdCaseRunner(false);
            case "pipeline" -> new PipelineCaseRunner();
            case "pipeline_img2img" -> new ImageConditionedCaseRunner(false);
            case "pipeline_inpaint" -> new ImageConditionedCaseRunner(true);
            case "lora" -> new LoraCaseRunner();
            default -> null;
        };
    }

    /** The runner of a case kind that checks itself (no outputs.safetensors), or null. */
    public static SelfCheckingRunner selfChecking(String component) {
        return switch (component) {
            case "checkpoint" -> new CheckpointCaseRunner();
            case "checkpoint_hostile" -> new HostileCheckpointCaseRunner();
            default -> null;
        };
    }
}
