package io.sdj.langchain4j;

import dev.langchain4j.data.image.Image;
import dev.langchain4j.model.image.ImageModel;
import dev.langchain4j.model.output.Response;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngReader;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.RgbImage;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.SamplerKind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The LangChain4j image model on the golden tiny pipeline, called through LangChain4j's {@link ImageModel} type. */
class SdjImageModelTest {
    private static Path model;
    private static Txt2Img sd;

    @BeforeAll
    static void load() {
        model = Path.of(System.getProperty("golden.dir", "../shared/golden")).resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(model), "golden pipeline-sd1-tiny not found at " + model.toAbsolutePath() + " (set -Dgolden.dir)");
        sd = Txt2Img.load(model);
    }

    @AfterAll
    static void close() {
        if (sd != null) sd.close();
    }

    private static byte[] png(Image image) {
        assertThat(image.mimeType()).isEqualTo("image/png");
        return Base64.getDecoder().decode(image.base64Data());
    }

    private static Txt2Img.Request fox(long seed) {
        return sd.request().prompt("a red fox in the snow").negativePrompt("blurry").size(64, 48).steps(3)
                .sampler(SamplerKind.EULER).guidance(6f).seed(seed);
    }

    private static byte[] expected(Txt2Img.Request r) {
        GenerationResult g = r.generate();
        return PngWriter.encode(g.images().get(0), g.parameters(0));
    }

    @Test
    void generatesThePngsTxt2ImgGivesWithSuccessiveSeeds() throws IOException {
        try (SdjImageModel owned = SdjImageModel.builder().model(model).size(64, 48).steps(3).sampler("euler")
                .guidance(6).negativePrompt("blurry").seed(42L).build()) {
            ImageModel images = owned;
            Response<Image> one = images.generate("a red fox in the snow");
            byte[] png = png(one.content());
            BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(png));
            assertThat(decoded.getWidth()).isEqualTo(64);
            assertThat(decoded.getHeight()).isEqualTo(48);
            assertThat(png).isEqualTo(expected(fox(42)));
            assertThat(one.metadata()).containsEntry("seed", "42").containsKey("parameters");
            assertThat((String) one.metadata().get("parameters")).contains("Seed: 42", "Sampler: Euler", "Size: 64x48");

            Response<List<Image>> three = images.generate("a red fox in the snow", 3);
            assertThat(three.content()).hasSize(3);
            for (int i = 0; i < 3; i++) assertThat(png(three.content().get(i))).as("image %d", i).isEqualTo(expected(fox(42 + i)));
            assertThat(three.metadata()).containsEntry("seeds", List.of("42", "43", "44"));
            assertThatThrownBy(() -> images.generate("x", 0)).hasMessage("n must be at least 1, got 0");
        }
        assertThat(sd.request().prompt("still open").size(16, 16).steps(1).generate().images()).hasSize(1);
    }

    @Test
    void aLoadedPipelineIsSharedAndStaysOpen() {
        SdjImageModel shared = SdjImageModel.builder().pipeline(sd).size(64, 48).steps(3).sampler(SamplerKind.EULER)
                .guidance(6).negativePrompt("blurry").seed(7L).build();
        assertThat(png(shared.generate("a red fox in the snow").content())).isEqualTo(expected(fox(7)));
        shared.close();
        assertThat(png(shared.generate("a red fox in the snow").content())).isEqualTo(expected(fox(7)));

        // no seed: a random one per call, reported and reproducible
        SdjImageModel random = SdjImageModel.builder().pipeline(sd).size(64, 48).steps(3).sampler(SamplerKind.EULER)
                .guidance(6).negativePrompt("blurry").build();
        Response<Image> r = random.generate("a red fox in the snow");
        long seed = Long.parseUnsignedLong((String) r.metadata().get("seed"));
        assertThat(png(r.content())).isEqualTo(expected(fox(seed)));
    }

    @Test
    void editsAreImg2ImgAndInpainting(@TempDir Path tmp) throws IOException {
        SdjImageModel m = SdjImageModel.builder().pipeline(sd).steps(4).sampler("ddim").guidance(5).seed(3L).strength(0.5).build();
        byte[] photo = expected(fox(1));
        Image init = Image.builder().base64Data(Base64.getEncoder().encodeToString(photo)).mimeType("image/png").build();
        RgbImage initRgb = PngReader.read(photo, "photo");

        byte[] painted = png(m.edit(init, "an oil painting of a fox").content());
        assertThat(painted).isEqualTo(expected(sd.request().prompt("an oil painting of a fox").steps(4).sampler(SamplerKind.DDIM)
                .guidance(5f).seed(3).initImage(initRgb).strength(0.5)));
        assertThat(ImageIO.read(new ByteArrayInputStream(painted)).getWidth()).isEqualTo(64);

        // an OpenAI-style mask (transparent = repaint: the left half) equals sdj's white-is-repaint mask
        BufferedImage alpha = new BufferedImage(64, 48, BufferedImage.TYPE_INT_ARGB);
        byte[] white = new byte[3 * 64 * 48];
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                alpha.setRGB(x, y, x < 32 ? 0x00000000 : 0xFF000000);
                if (x < 32) white[3 * (y * 64 + x)] = white[3 * (y * 64 + x) + 1] = white[3 * (y * 64 + x) + 2] = (byte) 255;
            }
        }
        Path maskFile = tmp.resolve("mask.png");
        ImageIO.write(alpha, "png", maskFile.toFile());
        Image mask = Image.builder().url(maskFile.toUri()).build();
        byte[] inpainted = png(m.edit(init, mask, "a snowman").content());
        byte[] expectedInpaint = expected(sd.request().prompt("a snowman").steps(4).sampler(SamplerKind.DDIM).guidance(5f).seed(3)
                .initImage(initRgb).mask(new RgbImage(64, 48, white)).strength(0.5));
        assertThat(inpainted).isEqualTo(expectedInpaint);
        ByteArrayOutputStream whiteMask = new ByteArrayOutputStream();
        whiteMask.write(PngWriter.encode(new RgbImage(64, 48, white), java.util.Map.of()));
        Image sdjMask = Image.builder().base64Data(Base64.getEncoder().encodeToString(whiteMask.toByteArray())).build();
        assertThat(png(m.edit(init, sdjMask, "a snowman").content())).isEqualTo(expectedInpaint);

        assertThatThrownBy(() -> m.edit(Image.builder().url("https://example.com/a.png").build(), "x"))
                .hasMessageContaining("sdj does not download images");
        assertThatThrownBy(() -> m.edit(Image.builder().base64Data(Base64.getEncoder().encodeToString("text".getBytes())).build(), "x"))
                .hasMessage("cannot read image (the image to edit): not a PNG, JPEG, BMP or GIF file");
    }

    @Test
    void badSettingsFailAtBuild() {
        assertThatThrownBy(() -> SdjImageModel.builder().build()).hasMessage("give a model (path or hub id) or a loaded pipeline");
        assertThatThrownBy(() -> SdjImageModel.builder().pipeline(sd).size(100, 64).build())
                .hasMessage("width must be a positive multiple of 8, got 100");
        assertThatThrownBy(() -> SdjImageModel.builder().pipeline(sd).steps(0).build()).hasMessage("steps must be at least 1, got 0");
        assertThatThrownBy(() -> SdjImageModel.builder().pipeline(sd).decoder(io.sdj.models.pipeline.DecoderKind.TAESD).build())
                .hasMessageContaining("has no taesd decoder");
        assertThatThrownBy(() -> SdjImageModel.builder().model("/nonexistent/model.sdj").build()).hasMessageContaining("/nonexistent/model.sdj");
        assertThatThrownBy(() -> SdjImageModel.builder().strength(0)).hasMessage("strength must be in (0, 1], got 0.0");
    }
}
