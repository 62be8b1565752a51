package io.sdj.models.verify;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The checkpoint and checkpoint_hostile runners of {@code sdj verify} on the golden cases. */
class CheckpointCaseRunnerTest {
    private static GoldenCase load(String name) {
        Path d = GoldenCase.goldenDir().resolve(name);
        assumeTrue(Files.isDirectory(d), "golden case " + name + " absent");
        return GoldenCase.load(d);
    }

    @Test
    void benignCheckpointsPass() {
        CaseVerifier.Report r = CaseVerifier.verify(load("ckpt-sd1-tiny"), false);
        r.checks().forEach(c -> System.out.println(c.line()));
        assertThat(r.checks()).hasSize(5).allMatch(OutputCheck::passed);
    }

    @Test
    void hostileCheckpointsAreAllRefused() {
        CaseVerifier.Report r = CaseVerifier.verify(load("ckpt-hostile"), false);
        r.checks().forEach(c -> System.out.println(c.line()));
        assertThat(r.checks()).hasSize(11).allMatch(OutputCheck::passed);
    }

    @Test
    void aCheckpointThatDiffersFromItsExpectationFails() {
        GoldenCase c = load("ckpt-sd1-tiny");
        // the F16 file against the F32 expectation: same names, other dtype
        String why = CheckpointCaseRunner.compare(c.file("model-f16.ckpt"), c.file("expected-f32.safetensors"));
        assertThat(why).contains("dtype F16, expected F32");
    }
}
