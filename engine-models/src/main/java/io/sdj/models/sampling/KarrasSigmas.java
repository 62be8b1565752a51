package io.sdj.models.sampling;

/**
 * The Karras et al. (2022) noise levels (ρ = 7) and diffusers' mapping of a σ back to a fractional training timestep,
 * with NumPy 1.x arithmetic (float32 log-σ table; mixed float32/float64 operations stay float32 as NumPy 1.x's
 * value-based casting makes them).
 */
final class KarrasSigmas {
    private KarrasSigmas() { }

    private static final double RHO = 7.0;

    /** n noise levels from sigmaMax down to sigmaMin, evenly spaced in σ^(1/ρ). */
    static double[] sigmas(double sigmaMin, double sigmaMax, int n) {
        double[] ramp = NumpyMath.linspace(0, 1, n, true);
        double minInv = Math.pow(sigmaMin, 1 / RHO);
        double maxInv = Math.pow(sigmaMax, 1 / RHO);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) s[i] = Math.pow(maxInv + ramp[i] * (minInv - maxInv), RHO);
        return s;
    }

    /** log σ_t over the training grid, float32 ({@code np.log} of a float32 array). */
    static float[] logSigmas(float[] trainingSigmas) {
        float[] l = new float[trainingSigmas.length];
        for (int i = 0; i < l.length; i++) l[i] = (float) Math.log(trainingSigmas[i]);
        return l;
    }

    /** The fractional training timestep whose σ equals {@code sigma} (log-linear interpolation between neighbours). */
    static double sigmaToT(double sigma, float[] logSigmas) {
        float logSigma = (float) Math.log(Math.max(sigma, 1e-10));
        int n = logSigmas.length;
        // the last index whose log σ is ≤ log σ (0 when none), clipped so that a right neighbour exists
        int low = 0;
        for (int i = 0; i < n; i++) if (logSigma - logSigmas[i] >= 0f) low = i;
        low = Math.min(low, n - 2);
        int high = low + 1;
        float lo = logSigmas[low], hi = logSigmas[high];
        float w = (lo - logSigma) / (lo - hi);
        w = Math.max(0f, Math.min(1f, w));
        return (double) (1f - w) * low + (double) w * high;
    }
}
