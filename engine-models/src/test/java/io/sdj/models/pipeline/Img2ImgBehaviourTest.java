package io.sdj.models.pipeline;

import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.verify.GoldenCase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * img2img and inpainting with every sampler and named schedule on the tiny reference pipeline: which timesteps run
 * for a strength, the parameters text, previews, and the errors for requests that cannot run.
 */
class Img2ImgBehaviourTest {
    private static Txt2Img pipeline;
    private static RgbImage photo;

    @BeforeAll
    static void load() {
        Path dir = GoldenCase.goldenDir().resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(dir), "golden case pipeline-sd1-tiny not found at " + dir);
        pipeline = Txt2Img.load(dir);
        byte[] rgb = new byte[3 * 64 * 48];
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                int o = 3 * (y * 64 + x);
                rgb[o] = (byte) (x * 4);
                rgb[o + 1] = (byte) (y * 5);
                rgb[o + 2] = (byte) ((x + y) % 2 == 0 ? 200 : 30);
            }
        }
        photo = new RgbImage(64, 48, rgb);
    }

    @AfterAll
    static void close() throws Exception {
        if (pipeline != null) pipeline.close();
    }

    private static float[] tail(float[] all, int n) {
        return java.util.Arrays.copyOfRange(all, all.length - n, all.length);
    }

    @Test
    void strengthRunsTheLastStepsOfEverySampler() {
        for (SamplerKind k : new SamplerKind[] {SamplerKind.DDIM, SamplerKind.EULER, SamplerKind.EULER_ANCESTRAL, SamplerKind.DPMPP_2M,
                SamplerKind.PNDM}) {
            GenerationResult full = pipeline.request().prompt("x").guidance(1f).steps(10).sampler(k).size(64, 48).seed(4).generate();
            GenerationResult r = pipeline.request().prompt("x").guidance(1f).steps(10).sampler(k).seed(4)
                    .initImage(photo).strength(0.7).generate();
            assertThat(r.mode()).isEqualTo(GenerationMode.IMG2IMG);
            assertThat(r.images().get(0).width()).isEqualTo(64);
            assertThat(r.images().get(0).height()).isEqualTo(48);
            int expected = full.timesteps().length - (10 - 7);   // int(10 × 0.7) = 7 of 10 (PNDM repeats one timestep)
            assertThat(r.timesteps()).as(k.name()).containsExactly(tail(full.timesteps(), expected));
            for (float v : r.pixels()) assertThat(v).as(k.name()).isBetween(0f, 1f);
        }
    }

    @Test
    void namedSchedulesWithStrength() {
        GenerationResult eight = pipeline.request().prompt("x").guidance(1f).schedule(NamedSchedule.EIGHT_STEP).seed(1)
                .initImage(photo).strength(0.6).generate();
        assertThat(eight.timesteps()).containsExactly(499f, 374f, 249f, 124f);   // trailing 8 steps, the last int(8 × 0.6) = 4
        GenerationResult one = pipeline.request().prompt("x").guidance(1f).schedule(NamedSchedule.ONE_STEP).seed(1)
                .initImage(photo).strength(0.5).generate();
        assertThat(one.timesteps()).containsExactly(499f);
        GenerationResult oneFull = pipeline.request().prompt("x").guidance(1f).schedule(NamedSchedule.ONE_STEP).seed(1)
                .initImage(photo).strength(1.0).generate();
        assertThat(oneFull.timesteps()).containsExactly(999f);
        // a strength too small for any of the steps runs the last one alone
        GenerationResult tiny = pipeline.request().prompt("x").guidance(1f).steps(4).sampler(SamplerKind.DDIM).seed(1)
                .initImage(photo).strength(0.1).generate();
        assertThat(tiny.timesteps()).containsExactly(1f);
    }

    @Test
    void parametersNameTheMode() {
        GenerationResult r = pipeline.request().prompt("a cat").negativePrompt("dog").guidance(7.5f).steps(8).sampler(SamplerKind.DDIM)
                .seed(7).initImage(photo).strength(0.6).generate();
        assertThat(r.timesteps()).hasSize(4);
        assertThat(r.parameters(0)).isEqualTo("a cat\nNegative prompt: dog\nSteps: 8, Sampler: DDIM, CFG scale: 7.5, Seed: 7, "
                + "Size: 64x48, Model: pipeline-sd1-tiny, Denoising strength: 0.6, RNG: CPU");
        byte[] m = new byte[3 * 64 * 48];
        java.util.Arrays.fill(m, 0, m.length / 2, (byte) 255);
        GenerationResult in = pipeline.request().prompt("a cat").guidance(1f).steps(2).sampler(SamplerKind.DDIM).seed(7)
                .initImage(photo).mask(new RgbImage(64, 48, m)).generate();
        assertThat(in.mode()).isEqualTo(GenerationMode.INPAINT);
        assertThat(in.parameters(0)).endsWith("Denoising strength: 1, Mask blur: 0, RNG: CPU");
        GenerationResult t = pipeline.request().prompt("a cat").guidance(1f).steps(1).sampler(SamplerKind.DDIM).size(32, 32).generate();
        assertThat(t.mode()).isEqualTo(GenerationMode.TXT2IMG);
        assertThat(t.parameters(0)).doesNotContain("Denoising");
    }

    @Test
    void anOddSizedInitImageIsRoundedDownWithAWarning() {
        byte[] rgb = new byte[3 * 70 * 53];
        List<String> warnings = new ArrayList<>();
        GenerationResult r = pipeline.request().prompt("x").guidance(1f).steps(2).sampler(SamplerKind.DDIM)
                .initImage(new RgbImage(70, 53, rgb)).warnings(warnings::add).generate();
        assertThat(r.images().get(0).width()).isEqualTo(64);
        assertThat(r.images().get(0).height()).isEqualTo(48);
        assertThat(warnings).singleElement().asString().contains("70×53").contains("64×48").contains("rounded down");
    }

    @Test
    void previewsEveryNStepsButNotTheLast() {
        List<String> seen = new ArrayList<>();
        ProgressListener l = new ProgressListener() {
            @Override public void onStep(int step, int total, Duration elapsed, double s) { }
            @Override public int previewEvery() { return 2; }
            @Override public void onPreview(int step, int total, RgbImage preview) {
                seen.add(step + "/" + total + " " + preview.width() + "x" + preview.height());
            }
        };
        pipeline.request().prompt("x").guidance(1f).steps(5).sampler(SamplerKind.EULER).size(64, 48).listener(l).generate();
        assertThat(seen).containsExactly("2/5 8x6", "4/5 8x6");   // the linear approximation, at latent size
    }

    @Test
    void linearPreviewUsesTheDocumentedFactors() {
        float[] lat = new float[4 * 2];   // [1, 4, 1, 2]: pixel 0 = channel 0 at 1, pixel 1 = channel 3 at -1
        lat[0] = 1f;
        lat[3 * 2 + 1] = -1f;
        RgbImage p = LatentPreview.linear(io.sdj.core.Tensor.of(lat, 1, 4, 1, 2), 0);
        // (0.3512 + 1) / 2 · 255 = 172.28 → 172; (0.2297 + 1) / 2 · 255 = 156.79 → 157; (0.3227 + 1) / 2 · 255 = 168.64 → 169
        assertThat(p.pixel(0, 0)).isEqualTo(172 << 16 | 157 << 8 | 169);
        // (0.2120 + 1) / 2 · 255 = 154.53 → 155; (0.2616 + 1)/2·255 = 160.85 → 161; (0.7177 + 1)/2·255 = 219.01 → 219
        assertThat(p.pixel(1, 0)).isEqualTo(155 << 16 | 161 << 8 | 219);
    }

    @Test
    void badRequestsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> pipeline.request().prompt("x").strength(0.5).build())
                .hasMessageContaining("strength needs an init image");
        assertThatThrownBy(() -> pipeline.request().prompt("x").mask(photo).build())
                .hasMessageContaining("a mask needs an init image");
        assertThatThrownBy(() -> pipeline.request().prompt("x").initImage(photo).strength(0).build())
                .hasMessageContaining("strength must be in (0, 1], got 0.0");
        assertThatThrownBy(() -> pipeline.request().prompt("x").initImage(photo).strength(1.5).build())
                .hasMessageContaining("strength must be in (0, 1]");
    }

    @Test
    void anInpaintingModelNeedsAMask() throws Exception {
        Path dir = GoldenCase.goldenDir().resolve("pipeline-inpaint-sd1-tiny");
        assumeTrue(Files.isDirectory(dir));
        try (Txt2Img p = Txt2Img.load(dir)) {
            assertThatThrownBy(() -> p.request().prompt("x").steps(1).size(32, 32).generate())
                    .hasMessageContaining("is an inpainting model (its UNet takes 9 channels): give an init image and a mask");
        }
    }
}
