package io.sdj.cli;

import io.sdj.core.WeightTensor;
import io.sdj.models.verify.GoldenCase;
import io.sdj.weights.Safetensors;
import io.sdj.weights.SafetensorsWriter;
import org.junit.jupiter.api.BeforeEach;
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
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.sdj.cli.PngFiles.pixels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The model files users download, end to end through {@code sdj generate} on the tiny golden pipeline: a LoRA (file
 * option and prompt tag), a pickled {@code .ckpt} (converted, then generated from), and a standalone TAESD decoder
 * (taesd.py {@code .pth} and a diffusers AutoencoderTiny folder). Each writes a real PNG.
 */
class GenerateModelFilesEndToEndTest {
    @TempDir
    Path tmp;
    Path golden, pipeline;

    @BeforeEach
    void findFixtures() {
        golden = GoldenCase.goldenDir();
        pipeline = golden.resolve("pipeline-sd1-tiny");
        for (String c : List.of("pipeline-sd1-tiny", "lora-kohya-sd1-tiny", "ckpt-sd1-tiny", "taesd-decoder", "taesd-pool-decoder")) {
            assumeTrue(Files.isDirectory(golden.resolve(c)), "golden case " + c + " not found");
        }
    }

    private static int sdj(StringWriter err, String... args) {
        CommandLine cl = Sdj.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return cl.execute(args);
    }

    private int generate(StringWriter err, Path model, Path out, String prompt, String... extra) {
        List<String> a = new ArrayList<>(List.of("generate", "--model", model.toString(), "--prompt", prompt, "--steps", "2", "--sampler", "ddim",
                "--cfg", "1", "--seed", "7", "--width", "32", "--height", "32", "--threads", "1", "-o", out.toString()));
        a.addAll(List.of(extra));
        return sdj(err, a.toArray(String[]::new));
    }

    @Test
    void aLoraChangesTheImageAndIsRecordedWithItsHash() throws Exception {
        Path loraCase = golden.resolve("lora-kohya-sd1-tiny"), lora = loraCase.resolve("lora.safetensors");
        String unetDigest = sha256(pipeline.resolve("unet/diffusion_pytorch_model.safetensors"));
        Path plain = tmp.resolve("plain.png"), withFile = tmp.resolve("file.png"), withTag = tmp.resolve("tag.png");
        StringWriter e1 = new StringWriter(), e2 = new StringWriter(), e3 = new StringWriter();
        assertThat(generate(e1, pipeline, plain, "a lighthouse")).as(e1.toString()).isZero();
        assertThat(generate(e2, pipeline, withFile, "a lighthouse", "--lora", lora + ":0.8")).as(e2.toString()).isZero();
        assertThat(generate(e3, pipeline, withTag, "a lighthouse <lora:lora:0.8>", "--lora-dir", loraCase.toString())).as(e3.toString()).isZero();
        assertThat(e2.toString()).doesNotContain("warning");

        String hash = addnetHash(lora);
        assertThat(readPng32(withFile)).isEqualTo("a lighthouse <lora:lora:0.8>\nSteps: 2, Sampler: DDIM, CFG scale: 1, Seed: 7, Size: 32x32, "
                + "Model: pipeline-sd1-tiny, RNG: CPU, Lora hashes: \"lora: " + hash + "\"");
        assertThat(readPng32(withTag)).isEqualTo(readPng32(withFile));
        // the tag is not tokenised and the merge is the same either way; without the LoRA the image differs
        assertThat(pixels(withTag)).isEqualTo(pixels(withFile));
        assertThat(pixels(withFile)).isNotEqualTo(pixels(plain));
        // merging never writes the model file
        assertThat(sha256(pipeline.resolve("unet/diffusion_pytorch_model.safetensors"))).isEqualTo(unetDigest);
    }

    /** The LCM-LoRA recipe of the README: an ordinary SD 1.5 model, a LoRA, the LCM sampler on the 8-step / 1-step schedules. */
    @Test
    void theLcmLoraRecipeRuns() throws Exception {
        Path lora = golden.resolve("lora-peft-sd1-tiny/lora.safetensors");
        for (String schedule : List.of("8-step", "1-step")) {
            Path out = tmp.resolve(schedule + ".png");
            StringWriter err = new StringWriter();
            List<String> a = List.of("generate", "--model", pipeline.toString(), "--prompt", "a lighthouse", "--lora", lora.toString(),
                    "--schedule", schedule, "--sampler", "lcm", "--cfg", "1", "--seed", "1", "--width", "32", "--height", "32", "-o", out.toString());
            assertThat(sdj(err, a.toArray(String[]::new))).as(err.toString()).isZero();
            int steps = schedule.equals("8-step") ? 8 : 1;
            assertThat(readPng32(out)).contains("Steps: " + steps + ", Sampler: LCM, CFG scale: 1").contains("Lora hashes: \"lora: ");
        }
    }

    @Test
    void loraMistakesAreOneLineErrors() {
        StringWriter e1 = new StringWriter(), e2 = new StringWriter(), e3 = new StringWriter();
        assertThat(generate(e1, pipeline, tmp.resolve("a.png"), "x <lora:nowhere:1>")).isEqualTo(2);
        assertThat(e1.toString().strip()).isEqualTo("sdj generate: the prompt names <lora:nowhere> but no --lora-dir was given to find it in");
        assertThat(generate(e2, pipeline, tmp.resolve("b.png"), "x", "--lora", tmp.resolve("missing.safetensors") + ":0.5")).isEqualTo(2);
        assertThat(e2.toString()).contains("missing.safetensors").hasLineCount(1);
        // a LoRA for another model: its keys match nothing here, which is reported, not dropped silently
        Path other = tmp.resolve("other.safetensors");
        SafetensorsWriter.write(other, Map.of(
                "lora_unet_some_block_proj.lora_down.weight", WeightTensor.ofFloats("d", new float[8], 2, 4),
                "lora_unet_some_block_proj.lora_up.weight", WeightTensor.ofFloats("u", new float[8], 4, 2)), Map.of());
        assertThat(generate(e3, pipeline, tmp.resolve("c.png"), "x", "--lora", other.toString())).isZero();
        assertThat(e3.toString()).contains("warning: LoRA other: 1 of 1 entries match no module of the model and were not applied, e.g. lora_unet_some_block_proj");
        assertThat(tmp.resolve("a.png")).doesNotExist();
    }

    @Test
    void aPickledCheckpointConvertsAndGeneratesTheSameImageAsItsDiffusersFolder() throws Exception {
        Path sdjFile = tmp.resolve("from-ckpt.sdj");
        StringWriter ce = new StringWriter();
        assertThat(sdj(ce, "convert", golden.resolve("ckpt-sd1-tiny/model-f32.ckpt").toString(), "--config-from", pipeline.toString(),
                "-o", sdjFile.toString())).as(ce.toString()).isZero();
        Path fromCkpt = tmp.resolve("ckpt.png"), fromFolder = tmp.resolve("folder.png");
        StringWriter e1 = new StringWriter(), e2 = new StringWriter();
        assertThat(generate(e1, sdjFile, fromCkpt, "a red fox")).as(e1.toString()).isZero();
        assertThat(generate(e2, pipeline, fromFolder, "a red fox")).as(e2.toString()).isZero();
        assertThat(readPng32(fromCkpt)).startsWith("a red fox\nSteps: 2, Sampler: DDIM");
        assertThat(pixels(fromCkpt)).isEqualTo(pixels(fromFolder));
        // a hostile checkpoint is refused by convert with one line and no output
        StringWriter he = new StringWriter();
        assertThat(sdj(he, "convert", golden.resolve("ckpt-hostile/reduce-os-system.ckpt").toString(), "-o", tmp.resolve("bad.sdj").toString())).isNotZero();
        assertThat(he.toString()).contains("forbidden global os.system").hasLineCount(1);
        assertThat(tmp.resolve("bad.sdj")).doesNotExist();
    }

    @Test
    void aStandaloneTaesdFileOrAutoencoderTinyFolderDecodes() throws Exception {
        Path pth = golden.resolve("taesd-decoder/taesd_decoder.pth");
        Path a = tmp.resolve("pth.png"), b = tmp.resolve("folder.png");
        StringWriter e1 = new StringWriter(), e2 = new StringWriter(), e3 = new StringWriter();
        assertThat(generate(e1, pipeline, a, "a cat", "--taesd", pth.toString())).as(e1.toString()).isZero();
        assertThat(readPng32(a)).endsWith(", VAE: TAESD, RNG: CPU");

        // the same weights as a diffusers AutoencoderTiny folder (decoder.layers.N = taesd.py layer N + 1)
        Path repo = Files.createDirectories(tmp.resolve("taesd-repo/vae"));
        Files.writeString(repo.resolve("config.json"), "{\"_class_name\": \"AutoencoderTiny\", \"latent_channels\": 4}");
        Map<String, WeightTensor> renamed = new LinkedHashMap<>();
        Pattern layer = Pattern.compile("(\\d+)\\.(.+)");
        try (Safetensors st = Safetensors.open(golden.resolve("taesd-decoder/model.safetensors"))) {
            for (String n : st.names()) {
                Matcher m = layer.matcher(n);
                assertThat(m.matches()).isTrue();
                String name = "decoder.layers." + (Integer.parseInt(m.group(1)) - 1) + "." + m.group(2);
                renamed.put(name, WeightTensor.ofFloats(name, st.floats(n), st.entry(n).intShape()));
            }
        }
        SafetensorsWriter.write(repo.resolve("diffusion_pytorch_model.safetensors"), renamed, Map.of());
        assertThat(generate(e2, pipeline, b, "a cat", "--taesd", repo.getParent().toString())).as(e2.toString()).isZero();
        // the .pth holds the F16 rounding of the same values: identical images
        assertThat(pixels(b)).isEqualTo(pixels(a));

        // a 32-channel TAEF2-style decoder does not fit a 4-channel model: one line, exit 3
        assertThat(generate(e3, pipeline, tmp.resolve("c.png"), "a cat", "--taesd", golden.resolve("taesd-pool-decoder/taesd_decoder.pth").toString())).isEqualTo(3);
        assertThat(e3.toString()).contains("decodes 32-channel latents").contains("makes 4").hasLineCount(1);
    }

    /** A1111's LoRA hash of a safetensors file: SHA-256 of everything after the header, first 12 hex digits. */
    private static String addnetHash(Path p) throws Exception {
        byte[] all = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] body = Arrays.copyOfRange(all, (int) (8 + n), all.length);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)).substring(0, 12);
    }

    private static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    /** A valid 32×32 PNG's "parameters" text. */
    private static String readPng32(Path p) throws IOException { return PngFiles.readPng(p, 32, 32); }
}
