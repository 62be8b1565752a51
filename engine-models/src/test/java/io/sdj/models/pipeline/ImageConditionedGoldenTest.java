package io.sdj.models.pipeline;

import io.sdj.models.sampling.TorchGenerator;
import io.sdj.models.verify.CaseVerifier;
import io.sdj.models.verify.GoldenCase;
import io.sdj.models.verify.OutputCheck;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * img2img ({@code pipeline-img2img-sd1-tiny}, diffusers StableDiffusionImg2ImgPipeline, strength 0.6 and 1.0) and
 * inpainting ({@code pipeline-inpaint-sd1-tiny}: a 9-channel inpainting UNet and the 4-channel latent-blending path)
 * against diffusers: every reference output (timesteps, embeddings, init / noised / mask latents, every step's latents,
 * the image) within the case's tolerance, with the Gaussian draws reproduced from the seed.
 */
class ImageConditionedGoldenTest {

    private static GoldenCase load(String name) {
        Path dir = GoldenCase.goldenDir().resolve(name);
        assumeTrue(Files.isDirectory(dir), "golden case " + name + " not found at " + dir + " (set -Dgolden.dir)");
        return GoldenCase.load(dir);
    }

    @ParameterizedTest
    @ValueSource(strings = {"pipeline-img2img-sd1-tiny", "pipeline-inpaint-sd1-tiny"})
    void matchesDiffusers(String name) {
        GoldenCase c = load(name);
        CaseVerifier.Report report = CaseVerifier.verify(c, true);
        report.checks().forEach(System.out::println);
        report.intermediateChecks().forEach(ch -> System.out.println("intermediate " + ch));
        System.out.println("first divergence: " + report.firstDivergence());
        assertThat(report.checks()).hasSizeGreaterThan(10);
        assertThat(report.checks()).allMatch(OutputCheck::passed, "every output within tolerance");
    }

    /** The seeded generator's consecutive draws are the case's noise inputs, in the order the README gives. */
    @ParameterizedTest
    @ValueSource(strings = {"pipeline-img2img-sd1-tiny", "pipeline-inpaint-sd1-tiny"})
    void seedReproducesTheDrawsInOrder(String name) {
        GoldenCase c = load(name);
        try (Safetensors in = Safetensors.open(c.file("inputs.safetensors"))) {
            for (String run : c.runNames()) {
                TorchGenerator g = new TorchGenerator(c.run(run).path("seed").asLong());
                var draws = c.run(run).path("draws_in_order");
                assertThat(draws.size()).isGreaterThanOrEqualTo(2);
                for (var d : draws) {
                    String tensor = d.asText().replaceFirst("^inputs ", "");
                    float[] ref = in.floats(tensor);
                    assertThat(g.randn(1, 4, 16, 16)).as(tensor).containsExactly(ref);
                }
            }
        }
    }
}
