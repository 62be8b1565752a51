package io.sdj.ops;

/**
 * Scalar error function in double precision, used as the reference the vectorised kernels are tested against:
 * the Maclaurin series below |x| = 2.5 and the continued fraction of erfc above (both converge to ~1e-15).
 */
public final class Erf {
    private Erf() {}

    public static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
            }
            r = 2.0 / Math.sqrt(Math.PI) * sum;
        } else if (ax < 6.0) {
            // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
            double f = ax;
            for (int k = 120; k >= 1; k--) f = ax + (k / 2.0) / f;
            r = 1.0 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        } else {
            r = 1.0;
        }
        return x < 0 ? -r : r;
    }
}
