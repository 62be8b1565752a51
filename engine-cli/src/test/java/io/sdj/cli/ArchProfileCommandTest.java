package io.sdj.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.unet.UNetCost;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code sdj arch} lists the bundled architectures with the reference counts; {@code sdj profile} runs and reports. */
class ArchProfileCommandTest {
    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {
        List<String> errLines() { return Arrays.stream(err.split("\\R")).filter(l -> !l.isBlank()).toList(); }
    }

    private static Run run(String... args) {
        CommandLine cl = Sdj.commandLine();
        StringWriter err = new StringWriter(), out = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(out, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static void assertOneLineError(Run r, int exit, String... fragments) {
        assertThat(r.exit()).as("exit code, stderr: %s", r.err()).isEqualTo(exit);
        assertThat(r.errLines()).as("stderr").hasSize(1);
        for (String f : fragments) assertThat(r.errLines().get(0)).contains(f);
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void archListsEveryBundledArchitectureWithTheReferenceCounts() {
        Run r = run("arch");
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines.getFirst()).contains("name", "component", "parameters", "GMACs 64²", "GMACs 32²", "source");
        assertThat(lines).hasSize(11);
        // the golden architectures README: sd15 859,520,964 parameters, 401.64 / 90.05 GMACs; SD VAE decode 1257.26 / 311.09
        assertThat(lines).anyMatch(l -> l.startsWith("sd15 ") && l.contains("UNet") && l.contains("859,520,964")
                && l.contains("401.64") && l.contains("90.05") && l.contains("runwayml/stable-diffusion-v1-5"));
        assertThat(lines).anyMatch(l -> l.startsWith("sd-vae ") && l.contains("VAE decode") && l.contains("49,490,199")
                && l.contains("1257.26") && l.contains("311.09"));
        assertThat(lines).anyMatch(l -> l.startsWith("snapfusion-decoder ") && l.contains("12,387,479") && l.contains("318.86"));
        assertThat(lines).anyMatch(l -> l.startsWith("taesd ") && l.contains("TAESD decode") && l.contains("1,222,531"));
        assertThat(lines).anyMatch(l -> l.startsWith("bk-sdm-tiny ") && l.contains("323,384,964") && l.contains("242.75") && l.contains("54.40"));
    }

    @Test
    void archWithNamesListsOnlyThose() {
        Run r = run("arch", "bk-sdm-small", "taesd");
        assertThat(r.exit()).isZero();
        assertThat(r.out().lines().toList()).hasSize(3);
    }

    @Test
    void unknownArchitectureIsOneLine() {
        assertOneLineError(run("arch", "sd16"), 2, "sdj arch", "unknown architecture 'sd16'", "mobilediffusion");
        assertOneLineError(run("profile", "--arch", "sd16"), 2, "sdj profile", "'sd16'", "bk-sdm-tiny");
        assertOneLineError(run("profile", "--arch", "sd-vae"), 2, "sd-vae", "not a UNet");
        assertOneLineError(run("profile", "--arch", "sd15", "--size", "500"), 2, "--size", "500");
        assertOneLineError(run("profile", "--arch", "sd15", "--batch", "3"), 2, "--batch", "3");
    }

    @Test
    void badConfigFileIsOneLine() throws IOException {
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, "{\"block_out_channels\": [32, 64], \"down_block_types\": [\"CrossAttnDownBlock2D\"]}");
        assertOneLineError(run("profile", "--arch", cfg.toString()), 3, "down_block_types");
        Files.writeString(cfg, "{ not json");
        assertOneLineError(run("profile", "--arch", cfg.toString()), 3, "config.json");
    }

    @Test
    void profilesAConfigFileAndWritesJson() throws IOException {
        ObjectNode j = (ObjectNode) UNetConfig.bundled("bk-sdm-tiny");
        ArrayNode ch = j.putArray("block_out_channels").add(32).add(64).add(128);
        j.put("cross_attention_dim", 96);
        j.put("norm_num_groups", 8);
        Path cfg = tmp.resolve("tiny.json");
        Files.writeString(cfg, j.toString());
        Path json = tmp.resolve("profile.json");
        Run r = run("profile", "--arch", cfg.toString(), "--size", "96", "--batch", "2", "--warmup", "1", "--runs", "2", "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("measure 2/2").contains("wrote " + json);
        assertThat(r.out()).contains("down_blocks.1.attentions.0", "up_blocks.2.resnets.1", "conv_out", "by resolution", "12×12",
                "by kind", "cross-attention", "feed-forward", "untraced forward");
        JsonNode p = new ObjectMapper().readTree(json.toFile());
        UNetConfig c = UNetConfig.fromJson(j);
        assertThat(p.get("parameters").asLong()).isEqualTo(UNetCost.parameters(c));
        assertThat(p.get("flops").asLong()).isEqualTo(UNetCost.flops(c, 2, 12, 12, 77));
        long sum = 0;
        for (JsonNode b : p.get("blocks")) sum += b.get("parameters").asLong();
        assertThat(sum).isEqualTo(UNetCost.parameters(c));
        assertThat(p.get("latent").get(0).asInt()).isEqualTo(12);
        // the same-run reference: the FMA loop before and after, and the forward's share of it as printed
        double before = p.get("fma_peak_gflop_per_s_before").asDouble(), after = p.get("fma_peak_gflop_per_s_after").asDouble();
        assertThat(before).isPositive();
        assertThat(after).isPositive();
        double rate = p.get("gflop_per_s").asDouble();
        int threads = p.get("threads").asInt();
        String head = String.format(java.util.Locale.ROOT, "FMA peak (register-only loop, %d thread%s): %.1f GFLOP/s before the "
                + "runs, %.1f after; the profiled forward ran at ", threads, threads == 1 ? "" : "s", before, after);
        String line = r.out().lines().filter(l -> l.startsWith("FMA peak")).findFirst().orElseThrow();
        assertThat(line).startsWith(head).endsWith("% of it");
        String[] shares = line.substring(head.length(), line.length() - "% of it".length()).split("–");
        double low = Double.parseDouble(shares[0]), high = Double.parseDouble(shares[shares.length - 1]);
        assertThat(low).isCloseTo(100 * rate / Math.max(before, after), org.assertj.core.data.Offset.offset(0.5));
        assertThat(high).isCloseTo(100 * rate / Math.min(before, after), org.assertj.core.data.Offset.offset(0.5));

        // the JSON file is not overwritten without --force
        assertOneLineError(run("profile", "--arch", cfg.toString(), "--json", json.toString()), 2, "already exists");
    }

    /** A model on disk runs on its own weights: SnapFusion-style pruned attentions, counted from the loaded tensors. */
    @Test
    void profilesAModelFolderOnItsOwnWeights() throws IOException {
        Path c = Path.of(System.getProperty("golden.dir", "../shared/golden")).resolve("unet-snapfusion-tiny");
        assumeTrue(Files.isDirectory(c), "case " + c + " absent");
        Path unet = Files.createDirectories(tmp.resolve("unet"));
        Files.copy(c.resolve("config.json"), unet.resolve("config.json"));
        Files.copy(c.resolve("model.safetensors"), unet.resolve("diffusion_pytorch_model.safetensors"));
        Path json = tmp.resolve("p.json");
        Run r = run("profile", "--arch", unet.toString(), "--size", "64", "--warmup", "0", "--runs", "1", "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("its own weights");
        JsonNode p = new ObjectMapper().readTree(json.toFile());
        long expected = new ObjectMapper().readTree(c.resolve("case.json").toFile()).get("parameter_count").asLong();
        assertThat(p.get("parameters").asLong()).isEqualTo(expected);
        assertThat(r.out()).contains("down_blocks.1.attentions.1").doesNotContain("down_blocks.1.attentions.0 ");
    }
}
