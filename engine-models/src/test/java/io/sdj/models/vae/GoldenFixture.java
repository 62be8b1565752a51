package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.models.Trace;
import io.sdj.models.verify.Comparison;
import io.sdj.models.verify.GoldenCase;
import io.sdj.models.verify.Tolerance;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Test support for the VAE/TAESD golden cases: loading, a copying trace, and comparisons with readable failures. */
public final class GoldenFixture implements AutoCloseable {
    public final GoldenCase gc;
    public final Safetensors model, inputs, outputs, intermediates;

    private GoldenFixture(GoldenCase gc) {
        this.gc = gc;
        this.model = Safetensors.open(gc.file("model.safetensors"));
        this.inputs = Safetensors.open(gc.file("inputs.safetensors"));
        this.outputs = Safetensors.open(gc.file("outputs.safetensors"));
        Path im = gc.file("intermediates.safetensors");
        this.intermediates = Files.isRegularFile(im) ? Safetensors.open(im) : null;
    }

    /** Opens a case, skipping the test when the fixtures are absent. */
    public static GoldenFixture open(String caseName) {
        Path dir = GoldenCase.goldenDir().resolve(caseName);
        Assumptions.assumeTrue(Files.isDirectory(dir), "golden case " + dir + " not present; skipping");
        return new GoldenFixture(GoldenCase.load(dir));
    }

    public Tensor input(String name) {
        return new Tensor(inputs.floats(name), inputs.entry(name).intShape());
    }

    /** A trace that keeps copies of every activation. */
    public static final class Recorder implements Trace {
        public final Map<String, Tensor> seen = new LinkedHashMap<>();

        @Override
        public void record(String name, Tensor t) { seen.put(name, t.copy()); }
    }

    /** Compares recorded activations with the case's intermediates of {@code run} (diagnostic lines, in layer order). */
    public List<String> compareIntermediates(String run, Recorder rec, String prefix) {
        List<String> lines = new ArrayList<>();
        if (intermediates == null) return lines;
        Tolerance tol = gc.tolerance("");
        for (String name : intermediates.names().stream().sorted().toList()) {
            if (!name.startsWith(run + "/")) continue;
            String key = prefix + name.substring(run.length() + 1);
            Tensor got = rec.seen.get(key);
            if (got == null) { lines.add(name + ": not traced (" + key + ")"); continue; }
            int[] shape = intermediates.entry(name).intShape();
            if (!Arrays.equals(shape, got.shape())) {
                lines.add(name + ": shape " + Arrays.toString(got.shape()) + " vs reference " + Arrays.toString(shape));
                continue;
            }
            lines.add(Comparison.of(name, got.toArray(), intermediates.floats(name), tol).toString());
        }
        return lines;
    }

    /** Asserts one output within its case tolerance, with the intermediate comparisons in the failure message. */
    public Comparison assertOutput(String name, Tensor got, List<String> diagnostics) {
        int[] shape = outputs.entry(name).intShape();
        assertThat(got.shape()).as(name + " shape").containsExactly(shape);
        Comparison c = Comparison.of(name, got.toArray(), outputs.floats(name), gc.tolerance(name));
        System.out.println(gc.name() + " " + c);
        assertThat(c.passed()).as(c + "\nintermediates:\n  " + String.join("\n  ", diagnostics)).isTrue();
        return c;
    }

    /** Asserts that traced intermediates match their references within the case's top-level tolerance. */
    public void assertIntermediates(String run, Recorder rec, String prefix) {
        List<String> lines = compareIntermediates(run, rec, prefix);
        lines.forEach(l -> System.out.println(gc.name() + " intermediate " + l));
        assertThat(lines).as("intermediates of " + run).isNotEmpty().allMatch(l -> l.endsWith("PASS"));
    }

    @Override
    public void close() {
        model.close();
        inputs.close();
        outputs.close();
        if (intermediates != null) intermediates.close();
    }
}
