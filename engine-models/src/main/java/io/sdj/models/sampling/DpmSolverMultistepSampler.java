package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * DPM-Solver++ (2M by default; diffusers {@code DPMSolverMultistepScheduler} with {@code algorithm_type
 * "dpmsolver++"}): a data-prediction multistep solver in log-SNR time. The first step (and, for fewer than 15
 * steps, the last one with {@code lower_order_final}) is first order; the others use the previous x₀ estimate too.
 * Supports Karras noise levels ({@code use_karras_sigmas}), solver orders 1 and 2, midpoint and heun corrections.
 */
public final class DpmSolverMultistepSampler implements Sampler {
    private static final String NAME = "dpmpp-2m";

    private final SchedulerConfig config;
    private final float[] timesteps;
    private final float[] sigmas;
    private final boolean finalSigmaZero;
    // per-generation state
    private final float[][] modelOutputs;
    private int lowerOrderNums;
    private int stepIndex = -1;

    public DpmSolverMultistepSampler(SchedulerConfig config, int steps) {
        this(config, NoiseSchedule.of(config.forKind(SamplerKind.DPMPP_2M)), steps);
    }

    public DpmSolverMultistepSampler(SchedulerConfig config, NoiseSchedule schedule, int steps) {
        SamplerKind k = SamplerKind.DPMPP_2M;
        this.config = config.forKind(k);
        SchedulerConfig c = this.config;
        c.requireCommonSupport(k);
        if (!c.algorithmType().equals("dpmsolver++")) throw SchedulerConfig.unsupported(k, "algorithm_type", c.algorithmType(), "only dpmsolver++ is implemented");
        if (c.solverOrder() != 1 && c.solverOrder() != 2) throw SchedulerConfig.unsupported(k, "solver_order", c.solverOrder(), "orders 1 and 2 are implemented");
        if (!c.solverType().equals("midpoint") && !c.solverType().equals("heun")) throw SchedulerConfig.unsupported(k, "solver_type", c.solverType(), "expected midpoint or heun");
        if (c.useLuLambdas()) throw SchedulerConfig.unsupported(k, "use_lu_lambdas", true, "not implemented");
        if (c.varianceType() != null) throw SchedulerConfig.unsupported(k, "variance_type", c.varianceType(), "learned variance is not implemented");
        if (!c.finalSigmasType().equals("sigma_min") && !c.finalSigmasType().equals("zero")) {
            throw SchedulerConfig.unsupported(k, "final_sigmas_type", c.finalSigmasType(), "expected sigma_min or zero");
        }
        this.finalSigmaZero = c.finalSigmasType().equals("zero");

        float[] ac = schedule.alphasCumprod();
        int n = ac.length;
        // clip the smallest log-SNRs (lambda_min_clipped): count of flipped λ below the bound
        int clipped = 0;
        for (int i = n - 1; i >= 0; i--) {
            float lambda = StepMath.log(StepMath.sqrt(ac[i])) - StepMath.log(StepMath.sqrt(1f - ac[i]));
            if (lambda < c.lambdaMinClipped()) clipped++; else break;
        }
        int lastTimestep = n - clipped;
        int[] ts = TimestepLayout.dpm(c, steps, lastTimestep);
        float[] train = schedule.sigmas();
        float[] sig = new float[steps + 1];
        float[] tsF = new float[steps];
        if (c.useKarrasSigmas()) {
            double[] ks = KarrasSigmas.sigmas(train[0], train[n - 1], steps);
            float[] logs = KarrasSigmas.logSigmas(train);
            for (int i = 0; i < steps; i++) {
                tsF[i] = (float) NumpyMath.round(KarrasSigmas.sigmaToT(ks[i], logs));
                sig[i] = (float) ks[i];
            }
            sig[steps] = finalSigmaZero ? 0f : sig[steps - 1];
        } else {
            for (int i = 0; i < steps; i++) {
                tsF[i] = ts[i];
                sig[i] = (float) NumpyMath.interpTrainingGrid(ts[i], train);
            }
            sig[steps] = finalSigmaZero ? 0f : (float) Math.sqrt((1 - ac[0]) / ac[0]);
        }
        this.timesteps = tsF;
        this.sigmas = sig;
        this.modelOutputs = new float[c.solverOrder()][];
    }

    @Override public SamplerKind kind() { return SamplerKind.DPMPP_2M; }
    @Override public SchedulerConfig config() { return config; }
    @Override public float[] timesteps() { return timesteps.clone(); }
    @Override public float[] sigmas() { return sigmas.clone(); }
    @Override public float initNoiseSigma() { return 1f; }
    @Override public Tensor scaleModelInput(Tensor sample, float t) { return sample; }

    /** α_t = 1/√(σ² + 1) and σ_t = σ·α_t of the variance-preserving process at noise level σ. */
    private static float alpha(float sigma) { return 1f / StepMath.sqrt(sigma * sigma + 1f); }

    private static float lambda(float sigma) {
        float a = alpha(sigma);
        return StepMath.log(a) - StepMath.log(sigma * a);
    }

    @Override
    public StepResult step(Tensor modelOutput, float t, Tensor sample, NoiseSource noise) {
        int n = StepMath.requireSameShape(NAME, modelOutput, sample);
        stepIndex = StepMath.stepIndex(NAME, stepIndex, timesteps, t, timesteps.length - 1);
        int steps = timesteps.length;
        boolean lowerOrderFinal = stepIndex == steps - 1
                && (config.eulerAtFinal() || (config.lowerOrderFinal() && steps < 15) || finalSigmaZero);

        float[] x = sample.data(), mo = modelOutput.data();
        float[] x0 = dataPrediction(mo, x, n);
        int order = modelOutputs.length;
        for (int i = 0; i < order - 1; i++) modelOutputs[i] = modelOutputs[i + 1];
        modelOutputs[order - 1] = x0;

        float[] out;
        if (order == 1 || lowerOrderNums < 1 || lowerOrderFinal) {
            out = firstOrder(x0, x, n);
        } else {
            out = secondOrder(modelOutputs[order - 1], modelOutputs[order - 2], x, n);
        }
        if (lowerOrderNums < order) lowerOrderNums++;
        stepIndex++;
        return new StepResult(StepMath.like(sample, out), null);
    }

    private float[] dataPrediction(float[] mo, float[] x, int n) {
        float sigma = sigmas[stepIndex];
        float a = alpha(sigma);
        float s = sigma * a;
        float[] x0 = new float[n];
        switch (config.predictionType()) {
            case EPSILON -> { for (int i = 0; i < n; i++) x0[i] = (x[i] - s * mo[i]) / a; }
            case SAMPLE -> System.arraycopy(mo, 0, x0, 0, n);
            case V_PREDICTION -> { for (int i = 0; i < n; i++) x0[i] = a * x[i] - s * mo[i]; }
        }
        return x0;
    }

    private float[] firstOrder(float[] x0, float[] x, int n) {
        float sigmaT = sigmas[stepIndex + 1], sigmaS = sigmas[stepIndex];
        float alphaT = alpha(sigmaT), alphaS = alpha(sigmaS);
        float sT = sigmaT * alphaT, sS = sigmaS * alphaS;
        float h = lambda(sigmaT) - lambda(sigmaS);
        float ratio = sT / sS;
        float coef = alphaT * (StepMath.exp(-h) - 1f);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = ratio * x[i] - coef * x0[i];
        return out;
    }

    private float[] secondOrder(float[] m0, float[] m1, float[] x, int n) {
        float sigmaT = sigmas[stepIndex + 1], sigmaS0 = sigmas[stepIndex], sigmaS1 = sigmas[stepIndex - 1];
        float alphaT = alpha(sigmaT), alphaS0 = alpha(sigmaS0);
        float sT = sigmaT * alphaT, sS0 = sigmaS0 * alphaS0;
        float lambdaT = lambda(sigmaT), lambdaS0 = lambda(sigmaS0), lambdaS1 = lambda(sigmaS1);
        float h = lambdaT - lambdaS0, h0 = lambdaS0 - lambdaS1;
        float r0 = h0 / h;
        float invR0 = 1f / r0;
        float ratio = sT / sS0;
        float expm1 = StepMath.exp(-h) - 1f;
        float coef = alphaT * expm1;
        float[] out = new float[n];
        if (config.solverType().equals("midpoint")) {
            float half = 0.5f * coef;
            for (int i = 0; i < n; i++) {
                float d1 = invR0 * (m0[i] - m1[i]);
                out[i] = ratio * x[i] - coef * m0[i] - half * d1;
            }
        } else { // heun
            float c2 = alphaT * (expm1 / h + 1f);
            for (int i = 0; i < n; i++) {
                float d1 = invR0 * (m0[i] - m1[i]);
                out[i] = ratio * x[i] - coef * m0[i] + c2 * d1;
            }
        }
        return out;
    }
}
