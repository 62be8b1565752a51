package io.sdj.models.verify;

import io.sdj.weights.Safetensors;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks a reference case: runs its component ({@link ComponentRunners}) and compares every tensor of
 * {@code outputs.safetensors} with what was produced, using the case's tolerances (integers exactly). With
 * intermediates, also compares {@code intermediates.safetensors} in recording order and names the first activation
 * outside the case tolerance.
 */
public final class CaseVerifier {

    /** The checks of one case, and (with intermediates) the first diverging activation or null. */
    public record Report(GoldenCase goldenCase, List<OutputCheck> checks, List<OutputCheck> intermediateChecks,
                         String firstDivergence) {
        public boolean passed() {
            for (OutputCheck c : checks) if (c.status() == OutputCheck.Status.FAIL) return false;
            return true;
        }

        public boolean supported() {
            for (OutputCheck c : checks) if (c.status() == OutputCheck.Status.NOT_SUPPORTED) return false;
            return true;
        }
    }

    private CaseVerifier() { }

    public static Report verify(GoldenCase c, boolean intermediates) {
        SelfCheckingRunner self = ComponentRunners.selfChecking(c.component());
        if (self != null) {
            try {
                return new Report(c, self.check(c), List.of(), "(this kind of case has no intermediates)");
            } catch (Exception | Error e) {
                String msg = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
                return new Report(c, List.of(OutputCheck.fail(c.name(), c.component(), "*", null, "run failed: " + msg)), List.of(), null);
            }
        }
        ComponentRunner runner = ComponentRunners.forComponent(c.component());
        if (runner == null) {
            return new Report(c, List.of(OutputCheck.notSupported(c.name(), c.component(), "no implementation of this component")), List.of(), null);
        }
        CaseOutputs produced;
        try {
            produced = runner.run(c, intermediates);
        } catch (UnsupportedOperationException e) {
            return new Report(c, List.of(OutputCheck.notSupported(c.name(), c.component(), e.getMessage() == null ? "" : e.getMessage())), List.of(), null);
        } catch (Exception | Error e) {
            String msg = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            return new Report(c, List.of(OutputCheck.fail(c.name(), c.component(), "*", null, "run failed: " + msg)), List.of(), null);
        }
        List<OutputCheck> checks;
        try {
            checks = compareAll(c, produced, c.file("outputs.safetensors").toString(), false);
        } catch (RuntimeException e) {
            return new Report(c, List.of(OutputCheck.fail(c.name(), c.component(), "*", null,
                    "cannot compare with the reference outputs: " + e.getMessage())), List.of(), null);
        }
        List<OutputCheck> inter = List.of();
        String first = null;
        if (intermediates) {
            if (!java.nio.file.Files.isRegularFile(c.file("intermediates.safetensors"))) {
                first = "(the case has no intermediates.safetensors)";
            } else if (produced.intermediates().isEmpty()) {
                first = "(this component records no intermediates)";
            } else {
                try {
                    inter = compareAll(c, produced, c.file("intermediates.safetensors").toString(), true);
                } catch (RuntimeException e) {
                    first = "(cannot read intermediates.safetensors: " + e.getMessage() + ")";
                }
                for (OutputCheck oc : inter) {
                    if (oc.status() == OutputCheck.Status.FAIL) { first = oc.output(); break; }
                }
            }
        }
        return new Report(c, checks, inter, first);
    }

    private static List<OutputCheck> compareAll(GoldenCase c, CaseOutputs outputs, String file, boolean intermediates) {
        Map<String, Produced> produced = intermediates ? outputs.intermediates() : outputs.outputs();
        List<OutputCheck> checks = new ArrayList<>();
        try (Safetensors ref = Safetensors.open(java.nio.file.Path.of(file))) {
            // reference order for outputs; recording order for intermediates (to find the first divergence)
            Iterable<String> names = intermediates ? produced.keySet() : ref.entries().keySet();
            for (String name : names) {
                if (!ref.contains(name)) continue; // recorded but not in the reference: nothing to compare
                Safetensors.Entry e = ref.entry(name);
                boolean integer = e.dtype().startsWith("I") || e.dtype().startsWith("U");
                float[] refFloats = integer ? null : ref.floats(name);
                Tolerance tol = intermediates ? intermediateTolerance(c.tolerance(name), refFloats) : c.tolerance(name);
                Produced p = produced.get(name);
                if (p == null) {
                    String why = outputs.unsupported().get(name);
                    checks.add(why != null ? OutputCheck.notSupported(c.name(), c.component(), name, why)
                            : OutputCheck.fail(c.name(), c.component(), name, tol, "not produced"));
                    continue;
                }
                checks.add(OutputCheck.compare(c.name(), c.component(), name, p, refFloats, integer ? ref.longs(name) : null, e.intShape(), tol));
            }
        }
        return checks;
    }

    /**
     * Intermediates have no tolerance of their own: the case tolerance, floored as the fixtures' rule floors it
     * (max_abs ≥ 1e-4·max(1, max|ref|), rel_l2 ≥ 1e-4).
     */
    static Tolerance intermediateTolerance(Tolerance caseTol, float[] ref) {
        if (ref == null) return caseTol;
        double m = 1;
        for (float v : ref) m = Math.max(m, Math.abs(v));
        return new Tolerance(Math.max(caseTol.maxAbs(), 1e-4 * m), Math.max(caseTol.relL2(), 1e-4));
    }
}
