package io.sdj.cli;

import io.sdj.models.verify.GoldenCase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static io.sdj.cli.PngFiles.pixels;
import static io.sdj.cli.PngFiles.readPng;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code sdj generate} on the tiny reference pipeline: a real PNG with its parameters, no stray files. */
class GenerateCommandEndToEndTest {
    @TempDir
    Path tmp;
    Path model;

    @BeforeEach
    void findModel() {
        model = GoldenCase.goldenDir().resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(model), "golden case pipeline-sd1-tiny not found at " + model);
    }

    private int run(StringWriter err, String... args) {
        CommandLine cl = Sdj.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        List<String> all = new ArrayList<>(List.of("generate", "--model", model.toString()));
        all.addAll(List.of(args));
        return cl.execute(all.toArray(String[]::new));
    }

    @Test
    void writesAPngWithParametersAndReplacesOnlyWithForce() throws IOException {
        Path out = tmp.resolve("fox.png");
        StringWriter err = new StringWriter();
        int code = run(err, "--prompt", "a fox", "--negative", "blurry", "--steps", "2", "--sampler", "ddim", "--cfg", "7.5",
                "--seed", "51", "--width", "64", "--height", "48", "--threads", "1", "-o", out.toString());
        assertThat(code).as(err.toString()).isZero();
        assertThat(err.toString()).contains("step 2/2").contains("wrote " + out);
        assertThat(System.getProperty("sdj.warmup")).as("generate, a fresh process per image, compiles the kernels while it loads").isEqualTo("true");
        String params = readPng(out, 64, 48);
        assertThat(params).isEqualTo("a fox\nNegative prompt: blurry\nSteps: 2, Sampler: DDIM, CFG scale: 7.5, Seed: 51, Size: 64x48, Model: pipeline-sd1-tiny, RNG: CPU");
        byte[] first = Files.readAllBytes(out);
        if (out.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            // not the owner-only permissions of a temporary file: the PNG is an ordinary output file
            assertThat(Files.getPosixFilePermissions(out)).contains(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                    java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            assertThat(Files.getPosixFilePermissions(out)).isEqualTo(umaskDefault());
        }

        StringWriter err2 = new StringWriter();
        assertThat(run(err2, "--prompt", "a cat", "--steps", "1", "--width", "64", "--height", "48", "-o", out.toString())).isEqualTo(2);
        assertThat(Files.readAllBytes(out)).isEqualTo(first);
        assertThat(run(new StringWriter(), "--prompt", "a cat", "--steps", "1", "--width", "64", "--height", "48", "--force", "-o", out.toString())).isZero();
        assertThat(readPng(out, 64, 48)).startsWith("a cat\nSteps: 1, ");
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("fox.png");
        }
    }

    @Test
    void batchWritesNumberedFilesAndTheSameSeedGivesTheSameImage() throws IOException {
        Path out = tmp.resolve("b.png");
        assertThat(run(new StringWriter(), "--prompt", "x", "--steps", "1", "--cfg", "1", "--seed", "3", "--width", "32", "--height", "32",
                "--batch", "2", "-o", out.toString())).isZero();
        readPng(tmp.resolve("b-1.png"), 32, 32);
        assertThat(readPng(tmp.resolve("b-2.png"), 32, 32)).contains("Batch size: 2, Batch pos: 1");
        Path again = tmp.resolve("again.png");
        assertThat(run(new StringWriter(), "--prompt", "x", "--steps", "1", "--cfg", "1", "--seed", "3", "--width", "32", "--height", "32",
                "--batch", "2", "-o", again.toString())).isZero();
        assertThat(pixels(tmp.resolve("again-1.png"))).isEqualTo(pixels(tmp.resolve("b-1.png")));
    }

    /** A long weighted prompt: no truncation warning, and the tokens after the first 75 change the image. */
    @Test
    void aLongWeightedPromptIsEncodedInChunksNotTruncated() throws IOException {
        String head = "highly detailed, ".repeat(25);                 // 75 tokens: the first chunk
        String longPrompt = head + "(a red fox:1.4) in the snow, [blurry], BREAK (golden hour:1.2)";
        StringWriter err = new StringWriter();
        Path weighted = tmp.resolve("w.png"), cut = tmp.resolve("cut.png"), plain = tmp.resolve("plain.png");
        String[] common = {"--steps", "1", "--sampler", "ddim", "--cfg", "1", "--seed", "5", "--width", "32", "--height", "32"};
        assertThat(run(err, concat(common, "--prompt", longPrompt, "-o", weighted.toString()))).as(err.toString()).isZero();
        assertThat(err.toString()).doesNotContain("warning").doesNotContain("truncated");
        assertThat(readPng(weighted, 32, 32)).startsWith(longPrompt + "\nSteps: 1, ").endsWith(", RNG: CPU");
        assertThat(run(new StringWriter(), concat(common, "--prompt", head, "-o", cut.toString()))).isZero();
        assertThat(pixels(weighted)).isNotEqualTo(pixels(cut));
        // the same text read literally is another conditioning (brackets, weights and BREAK are text), and says so
        assertThat(run(new StringWriter(), concat(common, "--prompt", longPrompt, "--prompt-syntax", "plain", "-o", plain.toString()))).isZero();
        assertThat(pixels(plain)).isNotEqualTo(pixels(weighted));
        assertThat(readPng(plain, 32, 32)).endsWith(", RNG: CPU, Emphasis: None");
        StringWriter bad = new StringWriter();
        assertThat(run(bad, concat(common, "--prompt", "a (cat:1.2.3)", "-o", tmp.resolve("bad.png").toString()))).isEqualTo(2);
        assertThat(bad.toString().strip()).isEqualTo("sdj generate: prompt: weight '1.2.3' is not a number (in \"a (cat:1.2.3)\")");
        assertThat(tmp.resolve("bad.png")).doesNotExist();
    }

    /** --rng cuda: the PNG says RNG: NV, and the image is the one the Philox draw of the seed gives as initial latents. */
    @Test
    void rngCudaStartsFromThePhiloxDrawOfTheSeed() throws Exception {
        Path cuda = tmp.resolve("cuda.png"), cpu = tmp.resolve("cpu.png");
        String[] common = {"--prompt", "a fox", "--steps", "2", "--sampler", "ddim", "--cfg", "1", "--seed", "42", "--width", "32", "--height", "32"};
        StringWriter err = new StringWriter();
        assertThat(run(err, concat(common, "--rng", "cuda", "-o", cuda.toString()))).as(err.toString()).isZero();
        assertThat(run(new StringWriter(), concat(common, "-o", cpu.toString()))).isZero();
        assertThat(readPng(cuda, 32, 32)).endsWith("Seed: 42, Size: 32x32, Model: pipeline-sd1-tiny, RNG: NV");
        assertThat(pixels(cuda)).isNotEqualTo(pixels(cpu));
        try (io.sdj.models.pipeline.Txt2Img p = io.sdj.models.pipeline.Txt2Img.load(model)) {
            var r = p.request().prompt("a fox").steps(2).sampler(io.sdj.models.sampling.SamplerKind.DDIM).guidance(1).seed(42)
                    .size(32, 32).initialLatents(new io.sdj.models.sampling.PhiloxGenerator(42).randn(1, 4, 4, 4)).generate();
            BufferedImage expected = ImageIO.read(new java.io.ByteArrayInputStream(
                    io.sdj.models.pipeline.PngWriter.encode(r.images().get(0), r.parameters(0))));
            assertThat(pixels(cuda)).isEqualTo(expected.getRGB(0, 0, 32, 32, null, 0, 32));
        }
        StringWriter bad = new StringWriter();
        assertThat(run(bad, concat(common, "--rng", "gpu2", "-o", tmp.resolve("x.png").toString()))).isEqualTo(2);
        assertThat(bad.toString().strip()).isEqualTo("sdj generate: unknown rng 'gpu2' (use cpu or cuda)");
    }

    /**
     * --vae-tiling on at 192×160 (the tiny VAE's tiles are 128 px, 16 latents): tiled, so the seams' blending makes it
     * differ from the untiled decode; auto leaves an image this small untiled.
     */
    @Test
    void vaeTilingOnDecodesInTiles() throws IOException {
        Path on = tmp.resolve("on.png"), off = tmp.resolve("off.png"), auto = tmp.resolve("auto.png");
        String[] common = {"--prompt", "a fox", "--steps", "1", "--sampler", "ddim", "--cfg", "1", "--seed", "7", "--width", "192", "--height", "160"};
        StringWriter err = new StringWriter();
        assertThat(run(err, concat(common, "--vae-tiling", "on", "-o", on.toString()))).as(err.toString()).isZero();
        assertThat(run(new StringWriter(), concat(common, "--vae-tiling", "off", "-o", off.toString()))).isZero();
        assertThat(run(new StringWriter(), concat(common, "-o", auto.toString()))).isZero();
        readPng(on, 192, 160);
        int[] a = pixels(on), b = pixels(off);
        assertThat(a).isNotEqualTo(b);
        // tiles blend smoothly: most pixels stay close to the untiled decode
        int close = 0;
        for (int i = 0; i < a.length; i++) {
            int d = 0;
            for (int sh = 0; sh < 24; sh += 8) d = Math.max(d, Math.abs(((a[i] >> sh) & 255) - ((b[i] >> sh) & 255)));
            if (d <= 64) close++;
        }
        assertThat(close).isGreaterThan(a.length / 2);
        assertThat(pixels(auto)).isEqualTo(b);
        StringWriter bad = new StringWriter();
        assertThat(run(bad, concat(common, "--vae-tiling", "maybe", "-o", tmp.resolve("x.png").toString()))).isEqualTo(2);
        assertThat(bad.toString().strip()).isEqualTo("sdj generate: unknown VAE tiling 'maybe' (use on, off or auto)");
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** diffusers allows an empty prompt (unconditional generation); a seed above 2^63 is recorded as given. */
    @Test
    void anEmptyPromptAndAnUnsignedSeedWork() throws IOException {
        Path out = tmp.resolve("e.png");
        StringWriter err = new StringWriter();
        assertThat(run(err, "--prompt", "", "--steps", "1", "--cfg", "1", "--seed", "18446744073709551615", "--width", "32", "--height", "32",
                "-o", out.toString())).as(err.toString()).isZero();
        assertThat(readPng(out, 32, 32)).startsWith("\nSteps: 1, ").contains("Seed: 18446744073709551615,");
        assertThat(err.toString()).contains("seed 18446744073709551615,");
    }

    @Test
    void taesdIsRefusedWhenTheModelHasNone() {
        StringWriter err = new StringWriter();
        assertThat(run(err, "--prompt", "x", "--steps", "1", "--width", "32", "--height", "32", "--decoder", "taesd",
                "-o", tmp.resolve("t.png").toString())).isEqualTo(3);
        assertThat(err.toString().strip()).isEqualTo("sdj generate: model " + model + " has no taesd decoder");
        assertThat(tmp.resolve("t.png")).doesNotExist();
    }

    @Test
    void cancellingLeavesNoFile() throws IOException {
        Path out = tmp.resolve("c.png");
        CommandLine cl = Sdj.commandLine();
        GenerateCommand cmd = (GenerateCommand) cl.getSubcommands().get("generate").getCommandSpec().userObject();
        StringWriter log = new StringWriter();
        // cancel as soon as the first step is reported, as the Ctrl-C hook does
        cl.setErr(new PrintWriter(new java.io.Writer() {
            @Override public void write(char[] b, int off, int len) {
                String s = new String(b, off, len);
                log.write(s);
                if (s.contains("step 1/")) cmd.cancel.cancel();
            }
            @Override public void flush() { }
            @Override public void close() { }
        }, true));
        int code = cl.execute("generate", "--model", model.toString(), "--prompt", "x", "--steps", "5", "--sampler", "ddim",
                "--width", "32", "--height", "32", "-o", out.toString());
        assertThat(code).as(log.toString()).isEqualTo(130);
        assertThat(log.toString()).contains("cancelled, nothing written").doesNotContain("step 2/5");
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.toList()).isEmpty();
        }
    }

    /** The permissions a freshly created file gets here (umask applied). */
    private java.util.Set<java.nio.file.attribute.PosixFilePermission> umaskDefault() throws IOException {
        Path probe = Files.createFile(tmp.resolve("probe"));
        try {
            return Files.getPosixFilePermissions(probe);
        } finally {
            Files.delete(probe);
        }
    }
}
