package io.sdj.models.verify;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The LoRA cases (kohya and PEFT files) through the verify runner, merged weights included. */
class LoraCaseRunnerTest {
    private static void passes(String name) {
        Path d = GoldenCase.goldenDir().resolve(name);
        assumeTrue(Files.isDirectory(d), "golden case " + name + " absent");
        CaseVerifier.Report r = CaseVerifier.verify(GoldenCase.load(d), true);
        r.checks().forEach(c -> System.out.println(c.line()));
        r.intermediateChecks().forEach(c -> System.out.println("  intermediate " + c.line()));
        assertThat(r.checks()).hasSize(4).allMatch(OutputCheck::passed);
        assertThat(r.intermediateChecks()).isNotEmpty().allMatch(OutputCheck::passed);
        assertThat(r.firstDivergence()).isNull();
    }

    @Test
    void kohyaLoraMatchesTheReference() { passes("lora-kohya-sd1-tiny"); }

    @Test
    void peftLoraMatchesTheReference() { passes("lora-peft-sd1-tiny"); }
}
