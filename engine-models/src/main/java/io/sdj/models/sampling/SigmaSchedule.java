package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * The σ-space layout shared by the Euler-family samplers: float timesteps, σ per step (interpolated from the
 * training σ table in float64, or Karras levels) with a final 0, the initial-noise σ and the model-input scaling.
 */
record SigmaSchedule(float[] timesteps, float[] sigmas, float initNoiseSigma) {

    static SigmaSchedule euler(SamplerKind kind, SchedulerConfig c, NoiseSchedule schedule, int steps, boolean karras) {
        if (!c.timestepType().equals("discrete")) {
            throw SchedulerConfig.unsupported(kind, "timestep_type", c.timestepType(), "only discrete timesteps are implemented");
        }
        if (!c.interpolationType().equals("linear")) {
            throw SchedulerConfig.unsupported(kind, "interpolation_type", c.interpolationType(), "only linear interpolation is implemented");
        }
        float[] t = TimestepLayout.euler(c, steps);
        float[] train = schedule.sigmas();
        double[] s = new double[steps];
        for (int i = 0; i < steps; i++) s[i] = NumpyMath.interpTrainingGrid(t[i], train);
        if (karras) {
            double min = c.sigmaMin() != null ? c.sigmaMin() : s[steps - 1];
            double max = c.sigmaMax() != null ? c.sigmaMax() : s[0];
            s = KarrasSigmas.sigmas(min, max, steps);
            float[] logs = KarrasSigmas.logSigmas(train);
            for (int i = 0; i < steps; i++) t[i] = (float) KarrasSigmas.sigmaToT(s[i], logs);
        }
        float[] sig = new float[steps + 1];
        float max = 0f;
        for (int i = 0; i < steps; i++) { sig[i] = (float) s[i]; max = Math.max(max, sig[i]); }
        sig[steps] = 0f;
        float init = c.timestepSpacing() == TimestepSpacing.LEADING ? StepMath.sqrt(max * max + 1f) : max;
        return new SigmaSchedule(t, sig, init);
    }

    /** x / √(σ² + 1): the model sees a unit-variance input. */
    Tensor scaleInput(Tensor sample, int stepIndex) {
        if (stepIndex >= timesteps.length) throw new IllegalStateException("all " + timesteps.length + " steps are done");
        float sigma = sigmas[stepIndex];
        float d = StepMath.sqrt(sigma * sigma + 1f);
        int n = sample.numel();
        float[] x = sample.data(), out = new float[n];
        for (int i = 0; i < n; i++) out[i] = x[i] / d;
        return StepMath.like(sample, out);
    }

    /** The denoised estimate in σ-space for the model's parameterisation. */
    static float[] predictX0(PredictionType p, float[] mo, float[] x, float sigma, float sigmaHat, int n) {
        float[] x0 = new float[n];
        switch (p) {
            case EPSILON -> { for (int i = 0; i < n; i++) x0[i] = x[i] - sigmaHat * mo[i]; }
            case V_PREDICTION -> {
                float s2p1 = sigma * sigma + 1f;
                float c = -sigma / StepMath.sqrt(s2p1);
                for (int i = 0; i < n; i++) x0[i] = mo[i] * c + x[i] / s2p1;
            }
            case SAMPLE -> System.arraycopy(mo, 0, x0, 0, n);
        }
        return x0;
    }

    /** One Euler step of the probability-flow ODE: x + (x − x0)/σ · dt, in that order of operations. */
    static float[] eulerStep(float[] x, float[] x0, float sigma, float dt, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            float derivative = (x[i] - x0[i]) / sigma;
            out[i] = x[i] + derivative * dt;
        }
        return out;
    }
}
