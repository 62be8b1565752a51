package io.sdj.cli;

import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.RgbImage;
import io.sdj.models.verify.GoldenCase;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static io.sdj.cli.PngFiles.pixels;
import static io.sdj.cli.PngFiles.readPng;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code sdj generate} in img2img and inpainting mode, with --count and --preview, on the tiny reference pipelines:
 * the written PNGs are opened and checked (size, parameters chunk, mode, and for the golden runs the pixels of
 * diffusers' image).
 */
class GenerateImageModesTest {
    @TempDir
    Path tmp;

    private static Path golden(String name) {
        Path dir = GoldenCase.goldenDir().resolve(name);
        assumeTrue(Files.isDirectory(dir), "golden case " + name + " not found at " + dir);
        return dir;
    }

    private static int run(StringWriter err, Path model, String... args) {
        CommandLine cl = Sdj.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        List<String> all = new ArrayList<>(List.of("generate", "--model", model.toString(), "--threads", "1"));
        all.addAll(List.of(args));
        return cl.execute(all.toArray(String[]::new));
    }

    /** An U8 tensor of a case's inputs written as a real PNG file. */
    private Path png(Path caseDir, String tensor, String file) throws IOException {
        try (Safetensors in = Safetensors.open(caseDir.resolve("inputs.safetensors"))) {
            int[] shape = in.entry(tensor).intShape();
            byte[] b = in.bytes(tensor).toArray(ValueLayout.JAVA_BYTE);
            int h = shape[0], w = shape[1];
            byte[] rgb = b;
            if (shape.length == 2) {
                rgb = new byte[3 * w * h];
                for (int p = 0; p < w * h; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = b[p];
            }
            Path p = tmp.resolve(file);
            Files.write(p, PngWriter.encode(new RgbImage(w, h, rgb), (String) null));
            return p;
        }
    }

    /** Every pixel of the PNG within one level of diffusers' float image × 255. */
    private static void assertPixelsMatch(Path png, Path caseDir, String tensor) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        try (Safetensors out = Safetensors.open(caseDir.resolve("outputs.safetensors"))) {
            float[] ref = out.floats(tensor);
            int w = img.getWidth(), h = img.getHeight();
            assertThat(ref).hasSize(w * h * 3);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int p = img.getRGB(x, y);
                    int[] got = {(p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF};
                    for (int c = 0; c < 3; c++) {
                        assertThat(Math.abs(got[c] - ref[(y * w + x) * 3 + c] * 255f)).as("pixel %d,%d channel %d", x, y, c).isLessThanOrEqualTo(1f);
                    }
                }
            }
        }
    }

    @Test
    void img2imgReproducesDiffusersAndRecordsTheStrength() throws IOException {
        Path model = golden("pipeline-img2img-sd1-tiny");
        Path init = png(model, "image", "astronaut.png");
        Path out = tmp.resolve("out.png");
        StringWriter err = new StringWriter();
        int code = run(err, model, "--prompt", "a photograph of an astronaut riding a horse, oil painting", "--negative", "blurry, low quality",
                "--init-image", init.toString(), "--strength", "0.6", "--steps", "8", "--sampler", "ddim", "--cfg", "7.5", "--seed", "81",
                "-o", out.toString());
        assertThat(code).as(err.toString()).isZero();
        assertThat(err.toString()).contains("step 4/4").contains("img2img, seed 81, 128×128, strength 0.6");
        assertThat(readPng(out, 128, 128)).isEqualTo("a photograph of an astronaut riding a horse, oil painting\nNegative prompt: blurry, low quality\n"
                + "Steps: 8, Sampler: DDIM, CFG scale: 7.5, Seed: 81, Size: 128x128, Model: pipeline-img2img-sd1-tiny, Denoising strength: 0.6, RNG: CPU");
        assertPixelsMatch(out, model, "r0/image");
    }

    @Test
    void inpaintingReproducesDiffusersWithA9ChannelUNet() throws IOException {
        Path model = golden("pipeline-inpaint-sd1-tiny");
        Path init = png(model, "image", "coffee.png");
        Path mask = png(model, "mask", "mask.png");
        Path out = tmp.resolve("car.png");
        StringWriter err = new StringWriter();
        int code = run(err, model, "--prompt", "a red sports car", "--negative", "blurry, low quality", "--init-image", init.toString(),
                "--mask", mask.toString(), "--steps", "4", "--sampler", "ddim", "--seed", "91", "-o", out.toString());
        assertThat(code).as(err.toString()).isZero();
        assertThat(err.toString()).contains("inpaint, seed 91, 128×128, strength 1.0");
        assertThat(readPng(out, 128, 128)).endsWith("Seed: 91, Size: 128x128, Model: pipeline-inpaint-sd1-tiny, Denoising strength: 1, Mask blur: 0, RNG: CPU");
        assertPixelsMatch(out, model, "r0/image");
    }

    @Test
    void inpaintingA4ChannelModelBlendsLatents() throws IOException {
        Path inpaintCase = golden("pipeline-inpaint-sd1-tiny");
        Path model = golden("pipeline-sd1-tiny");
        Path init = png(inpaintCase, "image", "coffee.png");
        Path mask = png(inpaintCase, "mask", "mask.png");
        Path out = tmp.resolve("car4.png");
        StringWriter err = new StringWriter();
        int code = run(err, model, "--prompt", "a red sports car", "--negative", "blurry, low quality", "--init-image", init.toString(),
                "--mask", mask.toString(), "--strength", "1", "--steps", "4", "--sampler", "ddim", "--seed", "92", "-o", out.toString());
        assertThat(code).as(err.toString()).isZero();
        assertPixelsMatch(out, inpaintCase, "r1/image");
    }

    @Test
    void theOutputTakesTheInitImageSizeRoundedDownWithAWarning() throws IOException {
        Path model = golden("pipeline-sd1-tiny");
        Path init = tmp.resolve("odd.png");
        byte[] rgb = new byte[3 * 70 * 45];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 7);
        Files.write(init, PngWriter.encode(new RgbImage(70, 45, rgb), (String) null));
        Path out = tmp.resolve("o.png");
        StringWriter err = new StringWriter();
        assertThat(run(err, model, "--prompt", "x", "--cfg", "1", "--init-image", init.toString(), "--steps", "2", "-o", out.toString()))
                .as(err.toString()).isZero();
        assertThat(err.toString().lines().filter(l -> l.contains("warning")).toList()).singleElement().asString()
                .isEqualTo("sdj generate: warning: init image 70×45 is resized to 64×40 (its size rounded down to multiples of 8, as diffusers does)");
        assertThat(readPng(out, 64, 40)).contains("Size: 64x40").contains("Denoising strength: 0.8");
    }

    @Test
    void countWritesOneImagePerSeed() throws IOException {
        Path model = golden("pipeline-sd1-tiny");
        Path out = tmp.resolve("c.png");
        StringWriter err = new StringWriter();
        assertThat(run(err, model, "--prompt", "x", "--cfg", "1", "--steps", "1", "--seed", "5", "--width", "32", "--height", "32",
                "--count", "3", "-o", out.toString())).as(err.toString()).isZero();
        for (int i = 0; i < 3; i++) assertThat(readPng(tmp.resolve("c-" + (i + 1) + ".png"), 32, 32)).contains("Seed: " + (5 + i) + ",");
        assertThat(err.toString()).contains("image 3 of 3, seed 7");
        Path single = tmp.resolve("s.png");
        assertThat(run(new StringWriter(), model, "--prompt", "x", "--cfg", "1", "--steps", "1", "--seed", "6", "--width", "32", "--height", "32",
                "-o", single.toString())).isZero();
        assertThat(pixels(single)).isEqualTo(pixels(tmp.resolve("c-2.png")));
        assertThat(pixels(single)).isNotEqualTo(pixels(tmp.resolve("c-1.png")));
        // count × batch files, run by run
        Path cb = tmp.resolve("cb.png");
        assertThat(run(new StringWriter(), model, "--prompt", "x", "--cfg", "1", "--steps", "1", "--seed", "9", "--width", "32", "--height", "32",
                "--count", "2", "--batch", "2", "-o", cb.toString())).isZero();
        assertThat(readPng(tmp.resolve("cb-2.png"), 32, 32)).contains("Seed: 9,").contains("Batch pos: 1");
        assertThat(readPng(tmp.resolve("cb-3.png"), 32, 32)).contains("Seed: 10,").contains("Batch pos: 0");
        assertThat(tmp.resolve("cb-5.png")).doesNotExist();
    }

    @Test
    void previewIsRewrittenDuringTheRun() throws IOException {
        Path model = golden("pipeline-sd1-tiny");
        Path out = tmp.resolve("p.png"), preview = tmp.resolve("preview.png");
        CommandLine cl = Sdj.commandLine();
        StringWriter log = new StringWriter();
        List<String> seen = new ArrayList<>();
        cl.setErr(new PrintWriter(new java.io.Writer() {
            @Override public void write(char[] b, int off, int len) {
                String s = new String(b, off, len);
                log.write(s);
                if (s.contains("step 3/4")) {
                    // previews after steps 2 (every 2): the linear approximation at latent size
                    try {
                        BufferedImage img = ImageIO.read(preview.toFile());
                        seen.add(img.getWidth() + "x" + img.getHeight());
                    } catch (IOException e) {
                        seen.add(e.toString());
                    }
                }
            }
            @Override public void flush() { }
            @Override public void close() { }
        }, true));
        int code = cl.execute("generate", "--model", model.toString(), "--prompt", "x", "--cfg", "1", "--steps", "4", "--sampler", "euler",
                "--width", "64", "--height", "48", "--preview", preview.toString(), "--preview-every", "2", "-o", out.toString());
        assertThat(code).as(log.toString()).isZero();
        assertThat(seen).containsExactly("8x6");
        // at the end the preview shows the final image
        BufferedImage fin = ImageIO.read(preview.toFile());
        assertThat(fin.getWidth()).isEqualTo(64);
        assertThat(pixels(preview)).isEqualTo(pixels(out));
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("p.png", "preview.png");
        }
    }

    @Test
    void badImageOptionsAreRefusedBeforeLoading() throws IOException {
        Path model = golden("pipeline-sd1-tiny");
        Path out = tmp.resolve("x.png");
        StringWriter e1 = new StringWriter();
        assertThat(run(e1, model, "--prompt", "x", "--strength", "0.5", "-o", out.toString())).isEqualTo(2);
        assertThat(e1.toString().strip()).isEqualTo("sdj generate: --strength needs --init-image");
        StringWriter e2 = new StringWriter();
        Path missing = tmp.resolve("nope.png");
        assertThat(run(e2, model, "--prompt", "x", "--init-image", missing.toString(), "-o", out.toString())).isEqualTo(2);
        assertThat(e2.toString().strip()).isEqualTo("sdj generate: image not found: " + missing);
        Path notPng = Files.writeString(tmp.resolve("text.png"), "hello");
        StringWriter e3 = new StringWriter();
        assertThat(run(e3, model, "--prompt", "x", "--init-image", notPng.toString(), "-o", out.toString())).isEqualTo(2);
        assertThat(e3.toString()).contains("cannot read image " + notPng);
        StringWriter e4 = new StringWriter();
        assertThat(run(e4, model, "--prompt", "x", "--init-image", notPng.toString(), "--strength", "1.5", "-o", out.toString())).isEqualTo(2);
        assertThat(e4.toString().strip()).isEqualTo("sdj generate: --strength must be in (0, 1], got 1.5");
        Path existing = Files.writeString(tmp.resolve("prev.png"), "mine");
        StringWriter e5 = new StringWriter();
        assertThat(run(e5, model, "--prompt", "x", "--preview", existing.toString(), "-o", out.toString())).isEqualTo(2);
        assertThat(e5.toString()).contains("preview " + existing + " already exists");
        assertThat(Files.readString(existing)).isEqualTo("mine");
        assertThat(out).doesNotExist();
    }
}
