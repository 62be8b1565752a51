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
        List<OutputCheck> checks = compareAll(c, produced.outputs(), c.file("outputs.safetensors").toString(), false);
        List<OutputCheck> inter = List.of();
        String first = null;
        if (intermediates) {
            if (!java.nio.file.Files.isRegularFile(c.file("intermediates.safetensors"))) {
                first = "(the case has no intermediates.safetensors)";
            } else if (produced.intermediates().isEmpty()) {
                first = "(this component records no intermediates)";
            } else {
                inter = compareAll(c, produced.intermediates(), c.file("intermediates.safetensors").toString(), true);
                for (OutputCheck oc : inter) {
                    if (oc.status() == OutputCheck.Status.FAIL) { first = oc.output(); break; }
                }
            }
        }
        return new Report(c, checks, inter, first);
    }

    private static List<OutputCheck> compareAll(GoldenCase c, Map<String, Produced> produced, String file, boolean intermediates) {
        List<OutputCheck> checks = new ArrayList<>();
        try (Safetensors ref = Safetensors.open(java.nio.file.Path.of(file))) {
            // reference order for outputs; recording order for intermediates (to find the first divergence)
            Iterable<String> names = intermediates ? produced.keySet() : ref.entries().keySet();
            for (String name : names) {
                Tolerance tol = c.tolerance(name);
                if (!ref.contains(name)) {
                    if (intermediates) continue; // recorded but not in the reference: nothing to compare
                    continue;
                }
                Produced p = produced.get(name);
                if (p == null) {
                    checks.add(OutputCheck.fail(c.name(), c.component(), name, tol, "not produced"));
                    continue;
                }
                Safetensors.Entry e = ref.entry(name);
                boolean integer = e.dtype().startsWith("I") || e.dtype().startsWith("U");
                checks.add(OutputCheck.compare(c.name(), c.component(), name, p,
                        integer ? null : ref.floats(name), integer ? ref.longs(name) : null, e.intShape(), tol));
            }
        }
        return checks;
    }
}
