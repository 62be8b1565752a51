package io.sdj.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code sdj generate} rejects bad input with one clear line and a non-zero exit code, before doing any work. */
class GenerateCommandTest {
    @TempDir
    Path tmp;

    record Run(int exit, String err) {
        List<String> lines() { return Arrays.stream(err.split("\\R")).filter(l -> !l.isBlank()).toList(); }
    }

    private Run run(String... args) {
        CommandLine cl = io.sdj.cli.Sdj.commandLine();
        StringWriter err = new StringWriter(), out = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(out, true));
        List<String> all = new ArrayList<>(List.of("generate"));
        all.addAll(List.of(args));
        int code = cl.execute(all.toArray(String[]::new));
        return new Run(code, err.toString());
    }

    private Path fakeModel() throws IOException {
        Path m = tmp.resolve("model.sdj");
        Files.write(m, "this is not a model file at all, just text".getBytes());
        return m;
    }

    private Run generate(String... extra) throws IOException {
        List<String> a = new ArrayList<>(List.of("--model", fakeModel().toString(), "--prompt", "a cat", "-o", tmp.resolve("out.png").toString()));
        a.addAll(List.of(extra));
        return run(a.toArray(String[]::new));
    }

    private static void assertOneLine(Run r, int exit, String... fragments) {
        assertThat(r.exit()).as("exit code, stderr: %s", r.err()).isEqualTo(exit);
        assertThat(r.lines()).as("stderr").hasSize(1);
        for (String f : fragments) assertThat(r.lines().get(0)).contains(f);
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void unknownSampler() throws IOException {
        assertOneLine(generate("--sampler", "heun"), 2, "unknown sampler 'heun'", "euler-ancestral");
    }

    @Test
    void sizeNotAMultipleOfEight() throws IOException {
        assertOneLine(generate("--width", "100"), 2, "--width", "multiple of 8", "100");
        assertOneLine(generate("--height", "0"), 2, "--height");
    }

    @Test
    void negativeOrNanCfg() throws IOException {
        assertOneLine(generate("--cfg", "-1"), 2, "--cfg", "-1");
        assertOneLine(generate("--cfg", "NaN"), 2, "--cfg", "NaN");
    }

    @Test
    void stepsBelowOne() throws IOException {
        assertOneLine(generate("--steps", "0"), 2, "--steps", "at least 1");
    }

    @Test
    void badScheduleAndBadDecoder() throws IOException {
        assertOneLine(generate("--schedule", "3-step"), 2, "unknown schedule '3-step'");
        assertOneLine(generate("--steps", "4", "--schedule", "8-step"), 2, "either --steps or --schedule");
        assertOneLine(generate("--decoder", "gan"), 2, "unknown decoder 'gan'");
    }

    @Test
    void unreadableModel() throws IOException {
        assertOneLine(generate(), 3, "cannot read model", "model.sdj");
    }

    @Test
    void missingModel() {
        assertOneLine(run("--model", tmp.resolve("nope.sdj").toString(), "--prompt", "x", "-o", tmp.resolve("o.png").toString()),
                3, "model not found", "nope.sdj");
    }

    @Test
    void folderThatIsNotAPipeline() {
        assertOneLine(run("--model", tmp.toString(), "--prompt", "x", "-o", tmp.resolve("o.png").toString()), 3, "not a diffusers pipeline");
    }

    @Test
    void modelLackingATextEncoder() throws IOException {
        Path golden = io.sdj.models.verify.GoldenCase.goldenDir().resolve("pipeline-sd1-tiny");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(golden), "golden case pipeline-sd1-tiny not found at " + golden);
        Path dir = Files.createDirectory(tmp.resolve("pipe"));
        for (String c : new String[]{"unet", "vae", "scheduler", "tokenizer"}) Files.createSymbolicLink(dir.resolve(c), golden.toAbsolutePath().resolve(c));
        Files.writeString(dir.resolve("model_index.json"), Files.readString(golden.resolve("model_index.json"))
                .replaceAll("\"text_encoder\":\\s*\\[[^\\]]*\\],?", ""));
        assertOneLine(run("--model", dir.toString(), "--prompt", "x", "-o", tmp.resolve("o.png").toString()), 3, "has no text_encoder");
    }

    @Test
    void neverOverwritesWithoutForce() throws IOException {
        Path out = tmp.resolve("out.png");
        Files.writeString(out, "keep me");
        assertOneLine(generate(), 2, "already exists", "--force");
        assertThat(Files.readString(out)).isEqualTo("keep me");
        // with --force the run gets past the output check (and then fails on the fake model)
        assertOneLine(generate("--force"), 3, "cannot read model");
        assertThat(Files.readString(out)).isEqualTo("keep me");
    }

    @Test
    void outputMustBeAPngInAnExistingFolder() {
        assertOneLine(run("--model", "m", "--prompt", "x", "-o", tmp.resolve("o.jpg").toString()), 2, "must end in .png");
        assertOneLine(run("--model", "m", "--prompt", "x", "-o", tmp.resolve("no/such/o.png").toString()), 2, "does not exist");
    }
}
