package io.sdj.models.sampling;

/**
 * The training noise schedule of a scheduler config: betas, alphas = 1 − betas and their cumulative products ᾱ,
 * computed with the same float32 arithmetic as diffusers 0.25 on PyTorch's CPU kernels, so the constants match the
 * reference bit for bit (a 1-ulp difference in ᾱ would shift every sampler step). Immutable; shared by every sampler
 * built from the same config.
 */
public final class NoiseSchedule {
    private final float[] betas;
    private final float[] alphasCumprod;

    private NoiseSchedule(float[] betas) {
        this.betas = betas;
        this.alphasCumprod = cumulativeProduct(betas);
    }

    public static NoiseSchedule of(SchedulerConfig c) {
        int n = c.numTrainTimesteps();
        float[] betas;
        if (c.trainedBetas() != null) {
            betas = new float[n];
            for (int i = 0; i < n; i++) betas[i] = (float) c.trainedBetas()[i];
        } else {
            betas = switch (c.betaSchedule()) {
                case LINEAR -> torchLinspace((float) c.betaStart(), (float) c.betaEnd(), n);
                case SCALED_LINEAR -> {
                    float[] r = torchLinspace((float) Math.sqrt(c.betaStart()), (float) Math.sqrt(c.betaEnd()), n);
                    for (int i = 0; i < n; i++) r[i] = r[i] * r[i];
                    yield r;
                }
                case SQUAREDCOS_CAP_V2 -> cosineBetas(n);
            };
        }
        for (int i = 0; i < n; i++) {
            if (!(betas[i] > 0f && betas[i] < 1f)) {
                throw new IllegalArgumentException("scheduler config: beta[" + i + "] = " + betas[i] + " is outside (0, 1)"
                        + " (beta_schedule " + c.betaSchedule().key() + ", beta_start " + c.betaStart() + ", beta_end " + c.betaEnd() + ")");
            }
        }
        return new NoiseSchedule(betas);
    }

    public int size() { return betas.length; }

    /** β_t (a copy). */
    public float[] betas() { return betas.clone(); }

    /** ᾱ_t = ∏_{s≤t} (1 − β_s) (a copy). */
    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** ᾱ_t for one training timestep. */
    public float alphaCumprod(int t) {
        if (t < 0 || t >= alphasCumprod.length) {
            throw new IllegalArgumentException("timestep " + t + " is outside the training range [0, " + alphasCumprod.length + ")");
        }
        return alphasCumprod[t];
    }

    /** σ_t = √((1 − ᾱ_t) / ᾱ_t) for every training timestep, in float32 as the Karras-style samplers derive it. */
    public float[] sigmas() {
        float[] s = new float[alphasCumprod.length];
        for (int i = 0; i < s.length; i++) {
            float a = alphasCumprod[i];
            s[i] = (float) Math.sqrt((1f - a) / a);
        }
        return s;
    }

    /**
     * {@code torch.linspace(start, end, steps, dtype=float32)} on the CPU: the vectorised kernel (8 lanes) fills the
     * first half forward from {@code start} and the second half backward from {@code end}, each 8-lane block as
     * base + k·step with the base computed by one fused multiply-add; the tail after the last pair of blocks uses the
     * per-element formula.
     */
    static float[] torchLinspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) { out[0] = start; return out; }
        float step = (end - start) / (float) (steps - 1);
        int halfway = steps / 2;
        final int lanes = 8;
        int i = 0;
        for (; i <= steps - 2 * lanes; i += lanes) {
            float base = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
            for (int k = 0; k < lanes; k++) out[i + k] = Math.fma((float) k, step, base);
        }
        for (; i < steps; i++) {
            out[i] = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        }
        return out;
    }

    /** Betas of the cosine schedule, computed in double and rounded to float32 as {@code torch.tensor(list)}. */
    private static float[] cosineBetas(int n) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            b[i] = (float) Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), 0.999);
        }
        return b;
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** {@code torch.cumprod(1 - betas)}: float alphas, product accumulated in double, each prefix rounded to float. */
    private static float[] cumulativeProduct(float[] betas) {
        float[] out = new float[betas.length];
        double acc = 1.0;
        for (int i = 0; i < betas.length; i++) {
            float alpha = 1f - betas[i];
            acc *= alpha;
            out[i] = (float) acc;
        }
        return out;
    }
}
