package io.sdj.models.verify;

/** How an output compares with its reference (deviations computed in double precision). */
public record Comparison(String name, double maxAbs, double relL2, Tolerance tolerance) {

    public static Comparison of(String name, float[] out, float[] ref, Tolerance tol) {
        if (out.length < ref.length) {
            throw new IllegalArgumentException(name + ": output has " + out.length + " values, reference " + ref.length);
        }
        double max = 0, diff2 = 0, ref2 = 0;
        boolean nan = false;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) out[i] - ref[i];
            if (Double.isNaN(d)) nan = true;
            max = Math.max(max, Math.abs(d));
            diff2 += d * d;
            ref2 += (double) ref[i] * ref[i];
        }
        double rel = ref2 == 0 ? Math.sqrt(diff2) : Math.sqrt(diff2 / ref2);
        if (nan) { max = Double.NaN; rel = Double.NaN; }
        return new Comparison(name, max, rel, tol);
    }

    /** False for NaN deviations. */
    public boolean passed() { return maxAbs <= tolerance.maxAbs() && relL2 <= tolerance.relL2(); }

    @Override
    public String toString() {
        return String.format("%s max_abs=%.3e rel_l2=%.3e (%s) %s", name, maxAbs, relL2, tolerance, passed() ? "PASS" : "FAIL");
    }
}
