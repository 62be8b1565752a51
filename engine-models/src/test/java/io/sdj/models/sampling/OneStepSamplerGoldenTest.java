package io.sdj.models.sampling;

import io.sdj.core.Tensor;
import io.sdj.models.verify.Comparison;
import io.sdj.models.verify.GoldenCase;
import io.sdj.models.verify.Tolerance;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The one-step sampler against the one-step runs of the reference schedulers: σ-scaled input = ancestral Euler with
 * trailing spacing and 1 step (SD-Turbo), unit input = DDIM trailing 1 step's x₀ estimate.
 */
class OneStepSamplerGoldenTest {

    @ParameterizedTest
    @CsvSource({"SIGMA,scheduler-euler-ancestral,epsilon", "SIGMA,scheduler-euler-ancestral,v_prediction",
            "UNIT,scheduler-ddim,epsilon", "UNIT,scheduler-ddim,v_prediction"})
    void matchesTheReferenceOneStepRun(OneStepSampler.InputScaling scaling, String caseName, String prediction) {
        Path dir = GoldenCase.goldenDir().resolve(caseName);
        assumeTrue(Files.isDirectory(dir), "golden case " + caseName + " not found at " + dir);
        GoldenCase c = GoldenCase.load(dir);
        String run = "trailing-1-" + prediction;
        SchedulerConfig cfg = SchedulerConfig.fromJson(c.json().path("sd15_source_config"), c.run(run).path("config_overrides"));
        OneStepSampler s = new OneStepSampler(cfg, scaling);
        Tolerance tol = c.tolerance("x");
        try (Safetensors in = Safetensors.open(dir.resolve("inputs.safetensors"));
             Safetensors out = Safetensors.open(dir.resolve("outputs.safetensors"))) {
            String tsName = run + "/timesteps";
            assertEquals(999L, out.entry(tsName).dtype().equals("I64") ? out.longs(tsName)[0] : (long) out.floats(tsName)[0]);
            assertEquals(999f, s.timesteps()[0]);
            assertEquals(out.floats(run + "/init_noise_sigma")[0], s.initNoiseSigma());
            float[] xT = in.floats("x_T");
            int[] shape = in.entry("x_T").intShape();
            float[] x = new float[xT.length];
            for (int i = 0; i < x.length; i++) x[i] = xT[i] * s.initNoiseSigma();
            Tensor sample = new Tensor(x, shape);
            Tensor input = s.scaleModelInput(sample, 999f);
            check(run + "/scaled_model_input", input.data(), out.floats(run + "/scaled_model_input"), tol);
            Tensor eps = new Tensor(Arrays.copyOf(in.floats("model_outputs"), x.length), shape);
            Sampler.StepResult r = s.step(eps, 999f, sample, null);
            check(run + "/pred_original_sample", r.predOriginalSample().data(), out.floats(run + "/pred_original_sample"), tol);
            if (scaling == OneStepSampler.InputScaling.SIGMA) {
                // ancestral Euler to σ = 0 lands on the x₀ estimate
                check(run + "/prev_sample", r.prevSample().data(), out.floats(run + "/prev_sample"), tol);
            }
        }
    }

    private static void check(String name, float[] got, float[] ref, Tolerance tol) {
        Comparison cmp = Comparison.of(name, got, ref, tol);
        assertTrue(cmp.passed(), cmp.toString());
    }
}
