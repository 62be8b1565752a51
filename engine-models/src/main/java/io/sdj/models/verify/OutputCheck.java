package io.sdj.models.verify;

import java.util.Locale;

/**
 * The verdict on one output of one case: deviations from the reference, the tolerance applied and the status.
 * Integer outputs must match exactly (their tolerance is shown as "exact").
 */
public record OutputCheck(String caseName, String component, String output, double maxAbs, double relL2,
                          Tolerance tolerance, Status status, String note) {

    public enum Status { PASS, FAIL, NOT_SUPPORTED }

    public boolean passed() { return status == Status.PASS; }

    public static OutputCheck compare(String caseName, String component, String output, Produced got, float[] refFloats,
                                      long[] refLongs, int[] refShape, Tolerance tol) {
        if (!java.util.Arrays.equals(got.shape(), refShape)) {
            return fail(caseName, component, output, tol, "shape " + java.util.Arrays.toString(got.shape())
                    + " differs from the reference " + java.util.Arrays.toString(refShape));
        }
        if (refLongs != null) {
            double max = 0;
            int bad = 0;
            for (int i = 0; i < refLongs.length; i++) {
                double v = got.isInteger() ? got.longs()[i] : got.floats()[i];
                double d = Math.abs(v - refLongs[i]);
                if (Double.isNaN(d) || d != 0) bad++;
                max = Double.isNaN(d) ? Double.NaN : Math.max(max, d);
            }
            return new OutputCheck(caseName, component, output, max, 0.0, null, bad == 0 ? Status.PASS : Status.FAIL,
                    bad == 0 ? "" : bad + " of " + refLongs.length + " values differ");
        }
        float[] out = got.isInteger() ? toFloats(got.longs()) : got.floats();
        Comparison cmp = Comparison.of(output, out, refFloats, tol);
        return new OutputCheck(caseName, component, output, cmp.maxAbs(), cmp.relL2(), tol,
                cmp.passed() ? Status.PASS : Status.FAIL, "");
    }

    public static OutputCheck fail(String caseName, String component, String output, Tolerance tol, String why) {
        return new OutputCheck(caseName, component, output, Double.NaN, Double.NaN, tol, Status.FAIL, why);
    }

    public static OutputCheck notSupported(String caseName, String component, String why) {
        return notSupported(caseName, component, "*", why);
    }

    public static OutputCheck notSupported(String caseName, String component, String output, String why) {
        return new OutputCheck(caseName, component, output, Double.NaN, Double.NaN, null, Status.NOT_SUPPORTED, why);
    }

    private static float[] toFloats(long[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = v[i];
        return f;
    }

    /** One line: case, component, output, max_abs, rel_l2, tolerance, status (and a note when there is one). */
    public String line() {
        if (status == Status.NOT_SUPPORTED) {
            return String.format(Locale.ROOT, "%s %s %s not supported yet%s", caseName, component, output,
                    note.isEmpty() ? "" : " (" + note + ")");
        }
        String tolText = tolerance == null ? "exact" : String.format(Locale.ROOT, "max_abs<=%.3g rel_l2<=%.3g", tolerance.maxAbs(), tolerance.relL2());
        return String.format(Locale.ROOT, "%s %s %s max_abs=%.3e rel_l2=%.3e tol[%s] %s%s", caseName, component, output,
                maxAbs, relL2, tolText, status, note.isEmpty() ? "" : " (" + note + ")");
    }
}
