package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * Euler's method on the probability-flow ODE in σ-space (diffusers {@code EulerDiscreteScheduler}, k-diffusion's
 * "euler"), optionally on Karras noise levels. Without churn (s_churn = 0, as diffusers' default) it is deterministic.
 */
public final class EulerSampler implements Sampler {
    private static final String NAME = "euler";

    private final SchedulerConfig config;
    private final SigmaSchedule sigmas;
    private int stepIndex = -1;

    public EulerSampler(SchedulerConfig config, int steps) {
        this(config, NoiseSchedule.of(config.forKind(SamplerKind.EULER)), steps);
    }

    public EulerSampler(SchedulerConfig config, NoiseSchedule schedule, int steps) {
        this.config = config.forKind(SamplerKind.EULER);
        this.config.requireCommonSupport(SamplerKind.EULER);
        this.sigmas = SigmaSchedule.euler(SamplerKind.EULER, this.config, schedule, steps, this.config.useKarrasSigmas());
    }

    @Override public SamplerKind kind() { return SamplerKind.EULER; }
    @Override public SchedulerConfig config() { return config; }
    @Override public float[] timesteps() { return sigmas.timesteps().clone(); }
    @Override public boolean integerTimesteps() { return false; }
    @Override public float[] sigmas() { return sigmas.sigmas().clone(); }
    @Override public float initNoiseSigma() { return sigmas.initNoiseSigma(); }

    @Override
    public Tensor scaleModelInput(Tensor sample, float t) {
        if (stepIndex < 0) stepIndex = StepMath.initialStepIndex(NAME, sigmas.timesteps(), t, -1);
        return sigmas.scaleInput(sample, stepIndex);
    }

    @Override
    public StepResult step(Tensor modelOutput, float t, Tensor sample, NoiseSource noise) {
        int n = StepMath.requireSameShape(NAME, modelOutput, sample);
        stepIndex = StepMath.stepIndex(NAME, stepIndex, sigmas.timesteps(), t, -1);
        float sigma = sigmas.sigmas()[stepIndex];
        float sigmaHat = sigma * 1f; // gamma = 0: no churn
        float[] mo = modelOutput.data(), x = sample.data();
        float[] x0 = SigmaSchedule.predictX0(config.predictionType(), mo, x, sigma, sigmaHat, n);
        float dt = sigmas.sigmas()[stepIndex + 1] - sigmaHat;
        float[] out = SigmaSchedule.eulerStep(x, x0, sigmaHat, dt, n);
        stepIndex++;
        return new StepResult(StepMath.like(sample, out), StepMath.like(sample, x0));
    }
}
