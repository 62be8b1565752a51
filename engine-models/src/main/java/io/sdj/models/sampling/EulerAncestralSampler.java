package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * Ancestral Euler (diffusers {@code EulerAncestralDiscreteScheduler}, k-diffusion's "euler_a"): an Euler step down to
 * σ_down followed by fresh noise of size σ_up, with σ_down² + σ_up² = σ_next². Draws one noise tensor per step,
 * the last one included (scaled by σ_up = 0), exactly as diffusers does, so a shared generator stays in step.
 */
public final class EulerAncestralSampler implements Sampler {
    private static final String NAME = "euler-ancestral";

    private final SchedulerConfig config;
    private final SigmaSchedule sigmas;
    private int stepIndex = -1;

    public EulerAncestralSampler(SchedulerConfig config, int steps) {
        this(config, NoiseSchedule.of(config.forKind(SamplerKind.EULER_ANCESTRAL)), steps);
    }

    public EulerAncestralSampler(SchedulerConfig config, NoiseSchedule schedule, int steps) {
        this.config = config.forKind(SamplerKind.EULER_ANCESTRAL);
        this.config.requireCommonSupport(SamplerKind.EULER_ANCESTRAL);
        if (this.config.predictionType() == PredictionType.SAMPLE) {
            throw SchedulerConfig.unsupported(SamplerKind.EULER_ANCESTRAL, "prediction_type", "sample",
                    "diffusers' ancestral Euler does not implement it either");
        }
        this.sigmas = SigmaSchedule.euler(SamplerKind.EULER_ANCESTRAL, this.config, schedule, steps, false);
    }

    @Override public SamplerKind kind() { return SamplerKind.EULER_ANCESTRAL; }
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
        float[] mo = modelOutput.data(), x = sample.data();
        float[] x0 = SigmaSchedule.predictX0(config.predictionType(), mo, x, sigma, sigma, n);
        float sigmaTo = sigmas.sigmas()[stepIndex + 1];
        float from2 = sigma * sigma, to2 = sigmaTo * sigmaTo;
        float sigmaUp = StepMath.sqrt(to2 * (from2 - to2) / from2);
        float sigmaDown = StepMath.sqrt(to2 - sigmaUp * sigmaUp);
        float dt = sigmaDown - sigma;
        float[] out = SigmaSchedule.eulerStep(x, x0, sigma, dt, n);
        float[] z = StepMath.drawNoise(NAME, noise, sample.shape());
        for (int i = 0; i < n; i++) out[i] = out[i] + z[i] * sigmaUp;
        stepIndex++;
        return new StepResult(StepMath.like(sample, out), StepMath.like(sample, x0));
    }
}
