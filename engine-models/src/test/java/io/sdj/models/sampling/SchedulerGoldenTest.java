package io.sdj.models.sampling;

import io.sdj.models.verify.CaseVerifier;
import io.sdj.models.verify.GoldenCase;
import io.sdj.models.verify.OutputCheck;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every scheduler golden case: timesteps (exact), σ, ᾱ, β, init σ, scaled inputs, previous samples and x₀ estimates
 * at every step of every run, within the case tolerance.
 */
class SchedulerGoldenTest {

    @ParameterizedTest
    @ValueSource(strings = {"scheduler-ddim", "scheduler-pndm", "scheduler-euler", "scheduler-euler-ancestral",
            "scheduler-dpmpp-2m", "scheduler-lcm"})
    void reproducesEveryStepOfEveryRun(String caseName) {
        Path dir = GoldenCase.goldenDir().resolve(caseName);
        assumeTrue(Files.isDirectory(dir), "golden case " + caseName + " not found at " + dir);
        CaseVerifier.Report r = CaseVerifier.verify(GoldenCase.load(dir), false);
        List<OutputCheck> failed = r.checks().stream().filter(c -> !c.passed()).toList();
        OutputCheck worst = r.checks().stream().filter(c -> c.tolerance() != null)
                .max((a, b) -> Double.compare(a.relL2() / a.tolerance().relL2(), b.relL2() / b.tolerance().relL2())).orElseThrow();
        System.out.println(caseName + ": " + r.checks().size() + " outputs, worst " + worst.line());
        int expected;
        try (Safetensors ref = Safetensors.open(dir.resolve("outputs.safetensors"))) {
            expected = ref.entries().size();
        }
        assertEquals(expected, r.checks().size(), "every reference output must be checked");
        long exact = r.checks().stream().filter(c -> c.maxAbs() == 0).count();
        System.out.println(caseName + ": " + exact + " of " + r.checks().size() + " outputs bit-exact");
        assertEquals(List.of(), failed.stream().map(OutputCheck::line).toList());
    }
}
