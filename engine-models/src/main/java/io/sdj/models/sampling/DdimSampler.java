package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * DDIM (diffusers {@code DDIMScheduler}): deterministic for eta = 0, with fresh noise scaled by eta·σ_t otherwise.
 * The previous timestep is always t − N/steps (diffusers' rule, whatever the spacing), and ᾱ of a negative
 * timestep is 1 ({@code set_alpha_to_one}) or ᾱ₀.
 */
public final class DdimSampler implements Sampler {
    private static final String NAME = "ddim";

    private final SchedulerConfig config;
    private final NoiseSchedule schedule;
    private final int[] timesteps;
    private final float eta;
    private final float finalAlphaCumprod;

    /** Deterministic DDIM (eta = 0). */
    public DdimSampler(SchedulerConfig config, int steps) { this(config, steps, 0f); }

    public DdimSampler(SchedulerConfig config, int steps, float eta) {
        this(config, NoiseSchedule.of(config.forKind(SamplerKind.DDIM)), steps, eta);
    }

    /** With a precomputed schedule (shared between generations). */
    public DdimSampler(SchedulerConfig config, NoiseSchedule schedule, int steps, float eta) {
        this.config = config.forKind(SamplerKind.DDIM);
        this.config.requireCommonSupport(SamplerKind.DDIM);
        if (!(eta >= 0f)) throw new IllegalArgumentException("ddim: eta must be ≥ 0, got " + eta);
        this.schedule = schedule;
        this.timesteps = TimestepLayout.ddim(this.config, steps);
        this.eta = eta;
        this.finalAlphaCumprod = this.config.setAlphaToOne() ? 1f : schedule.alphaCumprod(0);
    }

    @Override public SamplerKind kind() { return SamplerKind.DDIM; }
    @Override public SchedulerConfig config() { return config; }
    @Override public float[] timesteps() { return StepMath.toFloats(timesteps); }
    @Override public float initNoiseSigma() { return 1f; }
    @Override public Tensor scaleModelInput(Tensor sample, float t) { return sample; }

    @Override
    public StepResult step(Tensor modelOutput, float t, Tensor sample, NoiseSource noise) {
        int n = StepMath.requireSameShape(NAME, modelOutput, sample);
        int ti = StepMath.integerTimestep(NAME, t, schedule.size());
        int prev = ti - config.numTrainTimesteps() / timesteps.length;
        float alphaT = schedule.alphaCumprod(ti);
        float alphaPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod;
        float betaT = 1f - alphaT;
        float sqrtA = StepMath.sqrt(alphaT), sqrtB = StepMath.sqrt(betaT);
        float[] mo = modelOutput.data(), x = sample.data();
        float[] x0 = new float[n], eps = new float[n];
        for (int i = 0; i < n; i++) {
            switch (config.predictionType()) {
                case EPSILON -> { x0[i] = (x[i] - sqrtB * mo[i]) / sqrtA; eps[i] = mo[i]; }
                case SAMPLE -> { x0[i] = mo[i]; eps[i] = (x[i] - sqrtA * mo[i]) / sqrtB; }
                case V_PREDICTION -> { x0[i] = sqrtA * x[i] - sqrtB * mo[i]; eps[i] = sqrtA * mo[i] + sqrtB * x[i]; }
            }
        }
        if (config.clipSample()) {
            float r = (float) config.clipSampleRange();
            for (int i = 0; i < n; i++) x0[i] = Math.max(-r, Math.min(r, x0[i]));
        }
        float betaPrev = 1f - alphaPrev;
        float variance = (betaPrev / betaT) * (1f - alphaT / alphaPrev);
        float std = eta * StepMath.sqrt(variance);
        float dirCoef = StepMath.sqrt(1f - alphaPrev - std * std);
        float sqrtAPrev = StepMath.sqrt(alphaPrev);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = sqrtAPrev * x0[i] + dirCoef * eps[i];
        if (eta > 0f) {
            float[] z = StepMath.drawNoise(NAME, noise, sample.shape());
            for (int i = 0; i < n; i++) out[i] = out[i] + std * z[i];
        }
        return new StepResult(StepMath.like(sample, out), StepMath.like(sample, x0));
    }
}
