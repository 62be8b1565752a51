package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * One model evaluation at the last training timestep (trailing spacing), returning the predicted clean sample — how
 * adversarially distilled one-step models (SD-Turbo, Hyper-SD 1-step) are run.
 *
 * <p>Two input conventions exist upstream and they give slightly different images for the same seed:
 * <ul>
 *   <li>{@link InputScaling#SIGMA} (default; SD-Turbo's {@code EulerAncestralDiscreteScheduler} with trailing spacing):
 *   start from noise·σ_max and feed the model x/√(σ²+1), i.e. noise·√(1−ᾱ);</li>
 *   <li>{@link InputScaling#UNIT} (DDIM/LCM/TCD style): start from the noise itself and feed it unchanged.</li>
 * </ul>
 */
public final class OneStepSampler implements Sampler {
    private static final String NAME = "one-step";

    /** How the initial noise is scaled and fed to the model. */
    public enum InputScaling { SIGMA, UNIT }

    private final SchedulerConfig config;
    private final InputScaling scaling;
    private final int timestep;
    private final float alpha;
    private final float sigma;
    private boolean done;

    public OneStepSampler(SchedulerConfig config) { this(config, InputScaling.SIGMA); }

    public OneStepSampler(SchedulerConfig config, InputScaling scaling) {
        this(config, NoiseSchedule.of(config.forKind(SamplerKind.ONE_STEP)), scaling);
    }

    public OneStepSampler(SchedulerConfig config, NoiseSchedule schedule, InputScaling scaling) {
        this(config, schedule, scaling, -1);
    }

    /**
     * The single evaluation at {@code timestep} instead of the last training timestep (img2img below full strength
     * starts from a partly noised image); −1 = the last (trailing) timestep.
     */
    public OneStepSampler(SchedulerConfig config, NoiseSchedule schedule, InputScaling scaling, int timestep) {
        this.config = config.forKind(SamplerKind.ONE_STEP).withTimestepSpacing(TimestepSpacing.TRAILING);
        this.config.requireCommonSupport(SamplerKind.ONE_STEP);
        this.scaling = scaling;
        if (timestep >= this.config.numTrainTimesteps()) {
            throw new IllegalArgumentException("one-step: timestep " + timestep + " is outside [0, " + this.config.numTrainTimesteps() + ")");
        }
        this.timestep = timestep >= 0 ? timestep : TimestepLayout.ddim(this.config, 1)[0];
        this.alpha = schedule.alphaCumprod(this.timestep);
        this.sigma = schedule.sigmas()[this.timestep];
    }

    @Override public SamplerKind kind() { return SamplerKind.ONE_STEP; }
    @Override public SchedulerConfig config() { return config; }
    @Override public float[] timesteps() { return new float[] {timestep}; }
    @Override public float[] sigmas() { return scaling == InputScaling.SIGMA ? new float[] {sigma, 0f} : new float[0]; }
    @Override public float initNoiseSigma() { return scaling == InputScaling.SIGMA ? sigma : 1f; }

    public InputScaling inputScaling() { return scaling; }

    @Override
    public Tensor scaleModelInput(Tensor sample, float t) {
        requireTimestep(t);
        if (scaling == InputScaling.UNIT) return sample;
        float d = StepMath.sqrt(sigma * sigma + 1f);
        int n = sample.numel();
        float[] x = sample.data(), out = new float[n];
        for (int i = 0; i < n; i++) out[i] = x[i] / d;
        return StepMath.like(sample, out);
    }

    @Override
    public StepResult step(Tensor modelOutput, float t, Tensor sample, NoiseSource noise) {
        int n = StepMath.requireSameShape(NAME, modelOutput, sample);
        requireTimestep(t);
        if (done) throw new IllegalStateException(NAME + ": the single step is already done");
        float[] mo = modelOutput.data(), x = sample.data();
        float[] x0;
        if (scaling == InputScaling.SIGMA) {
            x0 = SigmaSchedule.predictX0(config.predictionType(), mo, x, sigma, sigma, n);
        } else {
            float sa = StepMath.sqrt(alpha), sb = StepMath.sqrt(1f - alpha);
            x0 = new float[n];
            for (int i = 0; i < n; i++) {
                x0[i] = switch (config.predictionType()) {
                    case EPSILON -> (x[i] - sb * mo[i]) / sa;
                    case SAMPLE -> mo[i];
                    case V_PREDICTION -> sa * x[i] - sb * mo[i];
                };
            }
        }
        done = true;
        Tensor result = StepMath.like(sample, x0);
        return new StepResult(result, result);
    }

    private void requireTimestep(float t) {
        if (t != timestep) throw new IllegalArgumentException(NAME + ": timestep " + t + " is not this sampler's timestep " + timestep);
    }
}
