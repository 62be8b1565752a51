package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * Latent Consistency Model multistep sampling (diffusers {@code LCMScheduler}): at each step the consistency function
 * c_skip·x + c_out·x̂₀ gives the denoised sample, which is re-noised to the next timestep with fresh noise (no noise
 * after the last step). Timesteps are picked from the distillation schedule of {@code original_inference_steps}
 * evenly spaced points.
 */
public final class LcmSampler implements Sampler {
    private static final String NAME = "lcm";
    private static final float SIGMA_DATA = 0.5f;

    private final SchedulerConfig config;
    private final NoiseSchedule schedule;
    private final int[] timesteps;
    private final float finalAlphaCumprod;
    private int stepIndex = -1;

    public LcmSampler(SchedulerConfig config, int steps) { this(config, steps, null); }

    /** @param originalInferenceSteps overrides the config's {@code original_inference_steps} when not null */
    public LcmSampler(SchedulerConfig config, int steps, Integer originalInferenceSteps) {
        this(config, NoiseSchedule.of(config.forKind(SamplerKind.LCM)), steps, originalInferenceSteps);
    }

    public LcmSampler(SchedulerConfig config, NoiseSchedule schedule, int steps, Integer originalInferenceSteps) {
        this.config = config.forKind(SamplerKind.LCM);
        this.config.requireCommonSupport(SamplerKind.LCM);
        this.schedule = schedule;
        int n = this.config.numTrainTimesteps();
        int original = originalInferenceSteps != null ? originalInferenceSteps : this.config.originalInferenceSteps();
        if (original < 1 || original > n) {
            throw new IllegalArgumentException("lcm: original_inference_steps " + original + " must be in [1, num_train_timesteps = " + n + "]");
        }
        if (steps < 1 || steps > original) {
            throw new IllegalArgumentException("lcm: " + steps + " steps requested but the distillation schedule has only "
                    + original + " points (original_inference_steps)");
        }
        int k = n / original;
        int[] origin = new int[original]; // descending: original·k − 1, ..., k − 1
        for (int i = 0; i < original; i++) origin[i] = (original - i) * k - 1;
        double[] idx = NumpyMath.linspace(0, original, steps, false);
        this.timesteps = new int[steps];
        for (int i = 0; i < steps; i++) timesteps[i] = origin[(int) Math.floor(idx[i])];
        this.finalAlphaCumprod = this.config.setAlphaToOne() ? 1f : schedule.alphaCumprod(0);
    }

    @Override public SamplerKind kind() { return SamplerKind.LCM; }
    @Override public SchedulerConfig config() { return config; }
    @Override public float[] timesteps() { return StepMath.toFloats(timesteps); }
    @Override public float initNoiseSigma() { return 1f; }
    @Override public Tensor scaleModelInput(Tensor sample, float t) { return sample; }

    @Override
    public StepResult step(Tensor modelOutput, float t, Tensor sample, NoiseSource noise) {
        int n = StepMath.requireSameShape(NAME, modelOutput, sample);
        int ti = StepMath.integerTimestep(NAME, t, schedule.size());
        stepIndex = StepMath.stepIndex(NAME, stepIndex, timesteps(), t, -1);
        int prev = stepIndex + 1 < timesteps.length ? timesteps[stepIndex + 1] : ti;
        float alphaT = schedule.alphaCumprod(ti);
        float alphaPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod;
        float betaT = 1f - alphaT, betaPrev = 1f - alphaPrev;
        // boundary-condition scalings of the consistency function
        float scaled = (float) ti * (float) config.timestepScaling();
        float denom = scaled * scaled + SIGMA_DATA * SIGMA_DATA;
        float cSkip = (1f / denom) * (SIGMA_DATA * SIGMA_DATA);
        float cOut = scaled / StepMath.sqrt(denom);
        float sa = StepMath.sqrt(alphaT), sb = StepMath.sqrt(betaT);
        float[] mo = modelOutput.data(), x = sample.data();
        float[] x0 = new float[n];
        for (int i = 0; i < n; i++) {
            x0[i] = switch (config.predictionType()) {
                case EPSILON -> (x[i] - sb * mo[i]) / sa;
                case SAMPLE -> mo[i];
                case V_PREDICTION -> sa * x[i] - sb * mo[i];
            };
        }
        if (config.clipSample()) {
            float r = (float) config.clipSampleRange();
            for (int i = 0; i < n; i++) x0[i] = Math.max(-r, Math.min(r, x0[i]));
        }
        float[] denoised = new float[n];
        for (int i = 0; i < n; i++) denoised[i] = cOut * x0[i] + cSkip * x[i];
        float[] out;
        if (stepIndex != timesteps.length - 1) {
            float[] z = StepMath.drawNoise(NAME, noise, sample.shape());
            float ap = StepMath.sqrt(alphaPrev), bp = StepMath.sqrt(betaPrev);
            out = new float[n];
            for (int i = 0; i < n; i++) out[i] = ap * denoised[i] + bp * z[i];
        } else {
            out = denoised;
        }
        stepIndex++;
        return new StepResult(StepMath.like(sample, out), StepMath.like(sample, denoised));
    }
}
