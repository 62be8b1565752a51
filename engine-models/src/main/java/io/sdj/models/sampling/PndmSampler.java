package io.sdj.models.sampling;

import io.sdj.core.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * PNDM in its PLMS form (diffusers {@code PNDMScheduler} with {@code skip_prk_steps}, Stable Diffusion 1.x's default):
 * a linear multistep method over the last four noise predictions. The second timestep is repeated so the first
 * step can be redone as a two-point (Heun-like) average, giving steps + 1 model evaluations.
 */
public final class PndmSampler implements Sampler {
    private static final String NAME = "pndm";

    private final SchedulerConfig config;
    private final NoiseSchedule schedule;
    private final int[] timesteps;
    private final int stepRatio;
    private final float finalAlphaCumprod;
    // per-generation state
    private final List<float[]> history = new ArrayList<>();
    private int counter;
    private float[] firstSample;

    public PndmSampler(SchedulerConfig config, int steps) {
        this(config, NoiseSchedule.of(config.forKind(SamplerKind.PNDM)), steps);
    }

    public PndmSampler(SchedulerConfig config, NoiseSchedule schedule, int steps) {
        this.config = config.forKind(SamplerKind.PNDM);
        this.config.requireCommonSupport(SamplerKind.PNDM);
        if (!this.config.skipPrkSteps()) {
            throw SchedulerConfig.unsupported(SamplerKind.PNDM, "skip_prk_steps", false,
                    "only the PLMS form is implemented; Runge–Kutta warm-up steps are not");
        }
        if (this.config.predictionType() == PredictionType.SAMPLE) {
            throw SchedulerConfig.unsupported(SamplerKind.PNDM, "prediction_type", "sample", "PNDM needs epsilon or v_prediction");
        }
        this.schedule = schedule;
        this.stepRatio = this.config.numTrainTimesteps() / steps;
        int[] base = TimestepLayout.pndmAscending(this.config, steps);
        // PLMS order: all but the last, the second-to-last again, then the last; reversed
        int[] plms = new int[steps == 1 ? 1 : steps + 1];
        int k = 0;
        for (int i = 0; i < base.length - 1; i++) plms[k++] = base[i];
        if (base.length >= 2) plms[k++] = base[base.length - 2];
        plms[k] = base[base.length - 1];
        this.timesteps = new int[plms.length];
        for (int i = 0; i < plms.length; i++) timesteps[i] = plms[plms.length - 1 - i];
        this.finalAlphaCumprod = this.config.setAlphaToOne() ? 1f : schedule.alphaCumprod(0);
    }

    @Override public SamplerKind kind() { return SamplerKind.PNDM; }
    @Override public SchedulerConfig config() { return config; }
    @Override public float[] timesteps() { return StepMath.toFloats(timesteps); }
    @Override public float initNoiseSigma() { return 1f; }
    @Override public Tensor scaleModelInput(Tensor sample, float t) { return sample; }

    @Override
    public StepResult step(Tensor modelOutput, float t, Tensor sample, NoiseSource noise) {
        int n = StepMath.requireSameShape(NAME, modelOutput, sample);
        int timestep = StepMath.integerTimestep(NAME, t, schedule.size());
        float[] mo = modelOutput.data();
        float[] x = sample.data();
        int prev = timestep - stepRatio;
        if (counter != 1) {
            while (history.size() > 3) history.remove(0);
            history.add(java.util.Arrays.copyOf(mo, n));
        } else {
            prev = timestep;
            timestep = timestep + stepRatio;
        }
        float[] e = new float[n];
        int h = history.size();
        if (h == 1 && counter == 0) {
            System.arraycopy(mo, 0, e, 0, n);
            firstSample = java.util.Arrays.copyOf(x, n);
        } else if (h == 1 && counter == 1) {
            float[] e1 = history.get(0);
            for (int i = 0; i < n; i++) e[i] = (mo[i] + e1[i]) / 2f;
            x = firstSample;
            firstSample = null;
        } else if (h == 2) {
            float[] e1 = history.get(1), e2 = history.get(0);
            for (int i = 0; i < n; i++) e[i] = (3f * e1[i] - e2[i]) / 2f;
        } else if (h == 3) {
            float[] e1 = history.get(2), e2 = history.get(1), e3 = history.get(0);
            for (int i = 0; i < n; i++) e[i] = (23f * e1[i] - 16f * e2[i] + 5f * e3[i]) / 12f;
        } else {
            float[] e1 = history.get(3), e2 = history.get(2), e3 = history.get(1), e4 = history.get(0);
            final float c = (float) (1.0 / 24.0);
            for (int i = 0; i < n; i++) e[i] = c * (55f * e1[i] - 59f * e2[i] + 37f * e3[i] - 9f * e4[i]);
        }
        float[] out = previousSample(x, timestep, prev, e, n);
        counter++;
        return new StepResult(StepMath.like(sample, out), null);
    }

    /** The PNDM transfer from x_t to x_prev given a combined noise prediction (formula (9) of the PNDM paper). */
    private float[] previousSample(float[] x, int t, int prev, float[] e, int n) {
        float alphaT = schedule.alphaCumprod(t);
        float alphaPrev = prev >= 0 ? schedule.alphaCumprod(prev) : finalAlphaCumprod;
        float betaT = 1f - alphaT;
        float betaPrev = 1f - alphaPrev;
        if (config.predictionType() == PredictionType.V_PREDICTION) {
            float sa = StepMath.sqrt(alphaT), sb = StepMath.sqrt(betaT);
            float[] eps = new float[n];
            for (int i = 0; i < n; i++) eps[i] = sa * e[i] + sb * x[i];
            e = eps;
        }
        float sampleCoef = StepMath.sqrt(alphaPrev / alphaT);
        float denom = alphaT * StepMath.sqrt(betaPrev) + StepMath.sqrt(alphaT * betaT * alphaPrev);
        float diff = alphaPrev - alphaT;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = sampleCoef * x[i] - diff * e[i] / denom;
        return out;
    }
}
