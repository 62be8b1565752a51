package io.sdj.cli;

import io.sdj.weights.ModelFile;
import io.sdj.weights.TensorRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ConvertInfoCommandTest {
    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {}

    private static Run sdj(String... args) {
        CommandLine cl = Sdj.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static Path pipeline() {
        Path p = Path.of(System.getProperty("golden.dir", "../shared/golden")).resolve("pipeline-sd1-tiny");
        Assumptions.assumeTrue(Files.isDirectory(p), "golden pipeline-sd1-tiny not found at " + p.toAbsolutePath());
        return p;
    }

    @Test
    void convertThenInfoAndCheck() {
        Path out = tmp.resolve("tiny.sdj");
        Run c = sdj("convert", pipeline().toString(), "-o", out.toString(), "--dtype", "f16");
        assertThat(c.exit()).as(c.err()).isZero();
        assertThat(c.out()).contains("wrote", "F16");
        Run i = sdj("info", out.toString(), "--check");
        assertThat(i.exit()).as(i.err()).isZero();
        assertThat(i.out()).contains("kind: StableDiffusionPipeline", "text_encoder", "unet", "vae", "scheduler", "DDIMScheduler",
                "F16×", "vocab.json", "check: all", "check: header (configs, tokenizer files, tensor table) matches its CRC32C", "memory to run: up to ", " off-heap for the packed weights (3×3 convolutions that only run as Winograd convolutions are not packed), plus up to ", " for the Winograd forms of the 3×3 convolutions made on first use");
        // parameter count of the tiny UNet is printed with its component
        assertThat(i.out()).containsPattern("unet\\s+UNet2DConditionModel\\s+\\d+ tensors\\s+[\\d,]+ params");
    }

    @Test
    void infoAndConvertReadPickledFiles() {
        Path golden = pipeline().getParent();
        Path ckpt = golden.resolve("ckpt-sd1-tiny/model-legacy.ckpt"), pth = golden.resolve("taesd-pool-decoder/taesd_decoder.pth");
        Assumptions.assumeTrue(Files.isRegularFile(ckpt) && Files.isRegularFile(pth), "golden checkpoint cases absent");
        Run i = sdj("info", ckpt.toString());
        assertThat(i.exit()).as(i.err()).isZero();
        assertThat(i.out()).contains("ldm-checkpoint (not converted)", "detected=sd1", "unet", "vae", "text_encoder", "F16×");
        Path out = tmp.resolve("taef2-like.sdj");
        Run c = sdj("convert", pth.toString(), "-o", out.toString());
        assertThat(c.exit()).as(c.err()).isZero();
        Run j = sdj("info", out.toString(), "--check");
        assertThat(j.exit()).as(j.err()).isZero();
        assertThat(j.out()).contains("taesd_decoder", "check: all");
    }

    @Test
    void checkNamesTheCorruptedTensor() throws IOException {
        Path out = tmp.resolve("tiny.sdj");
        assertThat(sdj("convert", pipeline().toString(), "-o", out.toString()).exit()).isZero();
        long at;
        String name;
        try (ModelFile mf = ModelFile.open(out)) {
            TensorRecord t = mf.tensors("unet").get("down_blocks.1.attentions.0.proj_in.weight");
            name = t.qualifiedName();
            byte[] pre = Files.readAllBytes(out);
            at = ByteBuffer.wrap(pre).order(ByteOrder.LITTLE_ENDIAN).getLong(24) + t.offset() + t.length() / 2;
        }
        byte[] b = Files.readAllBytes(out);
        b[(int) at] ^= 0x40;
        Files.write(out, b);
        Run i = sdj("info", out.toString(), "--check");
        assertThat(i.exit()).isEqualTo(1);
        assertThat(i.err()).contains("'" + name + "' is corrupted", "1 of");
        // without --check the structure is still fine
        assertThat(sdj("info", out.toString()).exit()).isZero();
    }

    @Test
    void refusesToOverwriteWithoutForce() throws IOException {
        Path out = tmp.resolve("exists.sdj");
        Files.writeString(out, "precious");
        Run c = sdj("convert", pipeline().toString(), "-o", out.toString());
        assertThat(c.exit()).isNotZero();
        assertThat(c.err().strip()).startsWith("sdj: ").contains("already exists", "--force").doesNotContain("\n");
        assertThat(Files.readString(out)).isEqualTo("precious");
        Run f = sdj("convert", pipeline().toString(), "-o", out.toString(), "--force", "--dtype", "int8");
        assertThat(f.exit()).as(f.err()).isZero();
        assertThat(sdj("info", out.toString(), "--check").exit()).isZero();
        try (var s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("exists.sdj");
        }
    }

    @Test
    void errorsAreOneLine() throws IOException {
        Run bad = sdj("convert", pipeline().toString(), "-o", tmp.resolve("x.sdj").toString(), "--dtype", "q4");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err().strip()).isEqualTo("sdj: unknown --dtype 'q4' (expected f32, f16, bf16 or int8)");
        Run missing = sdj("convert", tmp.resolve("nope").toString(), "-o", tmp.resolve("y.sdj").toString());
        assertThat(missing.exit()).isNotZero();
        assertThat(missing.err().strip()).contains("no such file").doesNotContain("\n").doesNotContain("Exception");
        Path junk = tmp.resolve("junk.sdj");
        Files.writeString(junk, "definitely not a model file at all, but longer than forty bytes");
        Run info = sdj("info", junk.toString());
        assertThat(info.exit()).isNotZero();
        assertThat(info.err().strip()).contains("wrong magic").doesNotContain("\n");
        assertThat(Files.exists(tmp.resolve("x.sdj"))).isFalse();
    }
}
