package io.sdj.models.sampling;

/**
 * The few NumPy float64 routines diffusers uses to lay out timesteps and sigmas, with NumPy's exact arithmetic
 * (so timesteps come out identical, including round-half-to-even ties).
 */
final class NumpyMath {
    private NumpyMath() { }

    /** {@code np.linspace(start, stop, num, endpoint)}: i·step + start, the last value set to stop when endpoint. */
    static double[] linspace(double start, double stop, int num, boolean endpoint) {
        double[] y = new double[num];
        int div = endpoint ? num - 1 : num;
        double delta = stop - start;
        double step = div > 0 ? delta / div : Double.NaN;
        for (int i = 0; i < num; i++) {
            if (div > 0 && step == 0) y[i] = (double) i / div * delta + start;
            else if (div > 0) y[i] = i * step + start;
            else y[i] = i * delta + start;
        }
        if (endpoint && num > 1) y[num - 1] = stop;
        return y;
    }

    /**
     * {@code np.arange(start, stop, step)} for floats: length ⌈(stop − start)/step⌉; NumPy fills it from the first two
     * values, start + i·((start + step) − start).
     */
    static double[] arange(double start, double stop, double step) {
        int len = (int) Math.max(0, Math.ceil((stop - start) / step));
        double[] y = new double[len];
        if (len == 0) return y;
        y[0] = start;
        if (len == 1) return y;
        y[1] = start + step;
        double delta = y[1] - y[0];
        for (int i = 2; i < len; i++) y[i] = start + i * delta;
        return y;
    }

    /** {@code np.round}: half to even. */
    static double round(double x) { return Math.rint(x); }

    /**
     * {@code np.interp(x, xp, fp)} for increasing xp: linear interpolation, clamped to the end values outside.
     */
    static double interp(double x, double[] xp, double[] fp) {
        int n = xp.length;
        if (Double.isNaN(x)) return x;
        if (x < xp[0]) return fp[0];
        if (x > xp[n - 1]) return fp[n - 1];
        if (x == xp[n - 1]) return fp[n - 1];
        int lo = 0, hi = n - 1; // find j with xp[j] <= x < xp[j + 1]
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (xp[mid] <= x) lo = mid; else hi = mid;
        }
        int j = lo;
        if (xp[j] == x) return fp[j];
        double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
        double r = slope * (x - xp[j]) + fp[j];
        if (Double.isNaN(r)) r = slope * (x - xp[j + 1]) + fp[j + 1];
        return r;
    }

    /** {@code np.interp} over the training grid 0..n−1 with float32 values (widened to double as NumPy does). */
    static double interpTrainingGrid(double x, float[] values) {
        double[] xp = new double[values.length];
        double[] fp = new double[values.length];
        for (int i = 0; i < xp.length; i++) { xp[i] = i; fp[i] = values[i]; }
        return interp(x, xp, fp);
    }
}
