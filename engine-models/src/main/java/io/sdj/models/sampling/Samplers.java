package io.sdj.models.sampling;

/** Builds a fresh {@link Sampler} (one per generation) by kind. */
public final class Samplers {
    private Samplers() { }

    /** A sampler of this kind over {@code steps} steps (ONE_STEP ignores steps other than 1). */
    public static Sampler create(SamplerKind kind, SchedulerConfig config, int steps) {
        return create(kind, config, NoiseSchedule.of(config.forKind(kind)), steps);
    }

    /** As {@link #create(SamplerKind, SchedulerConfig, int)} with a precomputed (shared) noise schedule. */
    public static Sampler create(SamplerKind kind, SchedulerConfig config, NoiseSchedule schedule, int steps) {
        return switch (kind) {
            case DDIM -> new DdimSampler(config, schedule, steps, 0f);
            case PNDM -> new PndmSampler(config, schedule, steps);
            case EULER -> new EulerSampler(config, schedule, steps);
            case EULER_ANCESTRAL -> new EulerAncestralSampler(config, schedule, steps);
            case DPMPP_2M -> new DpmSolverMultistepSampler(config, schedule, steps);
            case LCM -> new LcmSampler(config, schedule, steps, null);
            case ONE_STEP -> {
                if (steps != 1) throw new IllegalArgumentException("the one-step sampler takes exactly 1 step, not " + steps);
                yield new OneStepSampler(config, schedule, OneStepSampler.InputScaling.SIGMA);
            }
        };
    }

    /**
     * The sampler a diffusers scheduler config names ({@code _class_name}), or null when the class is not one this
     * engine implements.
     */
    public static SamplerKind kindOfClass(String diffusersClass) {
        for (SamplerKind k : SamplerKind.values()) if (k.diffusersClass().equals(diffusersClass)) return k;
        return null;
    }
}
