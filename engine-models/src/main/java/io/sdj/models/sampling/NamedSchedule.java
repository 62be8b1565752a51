package io.sdj.models.sampling;

import java.util.Locale;

/**
 * Named sampling recipes: {@code default} (the model's own scheduler class — PNDM for Stable Diffusion 1.x, DDIM
 * when the config names it — 50 steps; LCM models 4 steps), {@code 8-step} (DDIM with trailing spacing, 8 steps; LCM
 * 8 steps for an LCM model) and {@code 1-step} (one evaluation at the last timestep, see {@link OneStepSampler}; an
 * LCM model runs its own sampler for one step, which is the same evaluation with LCM's boundary scalings).
 */
public enum NamedSchedule {
    DEFAULT("default"), EIGHT_STEP("8-step"), ONE_STEP("1-step");

    private final String key;

    NamedSchedule(String key) { this.key = key; }

    public String key() { return key; }

    public static NamedSchedule parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (NamedSchedule s : values()) if (s.key.equals(n)) return s;
        throw new IllegalArgumentException("unknown schedule '" + name + "' (expected default, 8-step or 1-step)");
    }

    /** The sampler kind and step count this recipe uses for a model whose scheduler config is {@code config}. */
    public Choice choose(SchedulerConfig config, boolean lcmModel) {
        return switch (this) {
            case DEFAULT -> {
                if (lcmModel) yield new Choice(SamplerKind.LCM, 4, config);
                SamplerKind k = Samplers.kindOfClass(config.className());
                yield new Choice(k == SamplerKind.DDIM ? SamplerKind.DDIM : k == null ? SamplerKind.PNDM : k, 50, config);
            }
            case EIGHT_STEP -> lcmModel ? new Choice(SamplerKind.LCM, 8, config)
                    : new Choice(SamplerKind.DDIM, 8, config.withTimestepSpacing(TimestepSpacing.TRAILING));
            case ONE_STEP -> lcmModel ? new Choice(SamplerKind.LCM, 1, config) : new Choice(SamplerKind.ONE_STEP, 1, config);
        };
    }

    /** A resolved recipe. */
    public record Choice(SamplerKind kind, int steps, SchedulerConfig config) {
        public Sampler create() { return Samplers.create(kind, config, steps); }
    }
}
