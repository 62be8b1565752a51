package io.sdj.cli;

import io.sdj.weights.hub.FakeHub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The {@code sdj} command with hub ids, run as its own process with {@code HF_ENDPOINT} pointing at a loopback hub
 * serving the golden tiny pipeline and {@code HF_HOME} in a temporary folder: {@code generate --model org/name} pulls
 * the model and writes a PNG; afterwards, with the hub gone, {@code --offline} commands find it in the cache.
 */
class HubCommandsEndToEndTest {
    static final String REPO = "sdj-test/tiny-sd";

    @TempDir
    Path tmp;
    FakeHub hub;

    @BeforeEach
    void start() throws IOException {
        Path golden = Path.of(System.getProperty("golden.dir", "../shared/golden")).resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(golden), "golden case pipeline-sd1-tiny not found at " + golden.toAbsolutePath());
        Map<String, byte[]> tree = new java.util.HashMap<>(FakeHub.tree(golden));
        tree.keySet().removeIf(f -> !f.contains("/") && !f.equals("model_index.json"));   // the case's own files
        Path taesd = golden.resolveSibling("taesd-decoder/taesd_decoder.pth");
        if (Files.isRegularFile(taesd)) tree.put("taesd/taesd_decoder.pth", Files.readAllBytes(taesd));
        hub = new FakeHub(REPO, tree);
    }

    @AfterEach
    void stop() { hub.close(); }

    record Run(int code, String out, String err) {}

    /** {@code sdj args...} in a new JVM with this test's classpath and JVM flags, and the hub variables set. */
    Run sdj(String... args) throws IOException, InterruptedException {
        Process p = start(args);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("sdj " + String.join(" ", args) + " did not finish in 5 minutes");
        }
        String errText = Files.readString(tmp.resolve("stderr.txt")).lines().filter(l -> !l.startsWith("WARNING: Using incubator modules"))
                .collect(java.util.stream.Collectors.joining("\n"));
        return new Run(p.exitValue(), Files.readString(tmp.resolve("stdout.txt")), errText);
    }

    Process start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        List<String> jvm = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (int i = 0; i < jvm.size(); i++) {
            String a = jvm.get(i);
            if (a.equals("--add-modules")) cmd.addAll(List.of(a, jvm.get(++i)));
            else if (a.startsWith("--add-modules=") || a.startsWith("--enable-native-access")) cmd.add(a);
        }
        cmd.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"), Sdj.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("HF_") || k.startsWith("HUGGING"));
        env.put("HF_ENDPOINT", hub.endpoint().toString());
        env.put("HF_HOME", tmp.resolve("hf-home").toString());
        Path out = tmp.resolve("stdout.txt"), err = tmp.resolve("stderr.txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        return pb.start();
    }

    @Test
    void generatePullsAHubIdOnFirstUseThenOfflineCommandsUseTheCache() throws Exception {
        Path png = tmp.resolve("fox.png");
        Run g = sdj("generate", "--model", REPO, "--prompt", "a red fox", "--steps", "2", "--sampler", "ddim", "--seed", "7",
                "--width", "32", "--height", "32", "--threads", "1", "-o", png.toString());
        assertThat(g.code()).as(g.err()).isZero();
        // a progress line per file: bytes, rate, and the final time
        assertThat(g.err()).contains("unet/diffusion_pytorch_model.safetensors").contains("MiB / ").contains("/s").contains("wrote " + png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img).isNotNull();
        assertThat(img.getWidth()).isEqualTo(32);
        assertThat(img.getHeight()).isEqualTo(32);
        assertThat(new String(Files.readAllBytes(png), StandardCharsets.ISO_8859_1)).contains("Seed: 7").contains("Model: tiny-sd");
        Path snapshot = tmp.resolve("hf-home/hub/models--sdj-test--tiny-sd/snapshots/" + hub.commit);
        assertThat(snapshot.resolve("unet/diffusion_pytorch_model.safetensors")).isSymbolicLink();

        if (hub.bytes("taesd/taesd_decoder.pth") != null) {   // --taesd takes a hub id (here one file) too
            Path fast = tmp.resolve("fast.png");
            Run t = sdj("generate", "--model", REPO, "--taesd", REPO + "/taesd/taesd_decoder.pth", "--prompt", "a red fox", "--steps", "1",
                    "--seed", "7", "--width", "32", "--height", "32", "--threads", "1", "-o", fast.toString());
            assertThat(t.code()).as(t.err()).isZero();
            assertThat(t.err()).contains("taesd/taesd_decoder.pth  ");
            assertThat(ImageIO.read(fast.toFile()).getWidth()).isEqualTo(32);
        }

        hub.close();
        int requests = hub.seen.size();
        Run info = sdj("info", REPO, "--offline");
        assertThat(info.code()).as(info.err()).isZero();
        assertThat(info.out()).contains("unet").contains("text_encoder");
        Run pull = sdj("pull", REPO, "--offline");
        assertThat(pull.code()).as(pull.err()).isZero();
        assertThat(pull.out().strip()).isEqualTo(snapshot.toString());
        Run missing = sdj("generate", "--model", "sdj-test/not-cached", "--offline", "--prompt", "x", "-o", tmp.resolve("x.png").toString());
        assertThat(missing.code()).isEqualTo(GenerateCommand.EXIT_BAD_MODEL);
        assertThat(missing.err().strip()).startsWith("sdj generate: sdj-test/not-cached is not complete in the cache")
                .contains("offline").contains("missing: everything");
        assertThat(hub.seen).hasSize(requests);
        assertThat(tmp.resolve("x.png")).doesNotExist();
    }

    @Test
    void aSignalDuringPullKeepsAResumableIncompleteFileAndTheNextPullResumesIt() throws Exception {
        String unet = "unet/diffusion_pytorch_model.safetensors";
        hub.slow.put(unet, 100);   // ~52 chunks of 64 KiB: about 5 s
        Path blobs = tmp.resolve("hf-home/hub/models--sdj-test--tiny-sd/blobs");
        Path part = blobs.resolve(sha256(hub.bytes(unet)) + ".incomplete");
        Process p = start("pull", REPO);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!(Files.exists(part) && Files.size(part) > 200_000)) {
            assertThat(p.isAlive()).as("pull ended before the download could be interrupted").isTrue();
            assertThat(System.nanoTime()).as("no partial download appeared").isLessThan(deadline);
            Thread.sleep(50);
        }
        p.destroy();   // SIGTERM: the JVM runs its shutdown hooks, as on Ctrl-C (SIGINT)
        assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).isNotZero();
        long kept = Files.size(part);
        assertThat(kept).isGreaterThan(200_000).isLessThan(hub.bytes(unet).length);
        assertThat(blobs.resolve(sha256(hub.bytes(unet)))).doesNotExist();

        hub.slow.clear();
        Run again = sdj("pull", REPO);
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains(unet + ": resuming at ");
        assertThat(hub.seen("cdn")).filteredOn(s -> s.path().endsWith(sha256(hub.bytes(unet)))).last()
                .satisfies(s -> assertThat(s.range()).startsWith("bytes=").isNotEqualTo("bytes=0-"));
        assertThat(Files.readAllBytes(blobs.resolve(sha256(hub.bytes(unet))))).isEqualTo(hub.bytes(unet));
        assertThat(part).doesNotExist();
    }

    static String sha256(byte[] b) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void pullDownloadsOneFileAndReportsHubErrorsOnOneLine() throws Exception {
        Run one = sdj("pull", REPO + "/unet/config.json");
        assertThat(one.code()).as(one.err()).isZero();
        Path p = Path.of(one.out().strip());
        assertThat(p.toString()).endsWith("/snapshots/" + hub.commit + "/unet/config.json");
        assertThat(Files.readAllBytes(p)).isEqualTo(hub.bytes("unet/config.json"));

        Run notFound = sdj("pull", "sdj-test/does-not-exist");
        assertThat(notFound.code()).isEqualTo(1);
        assertThat(notFound.err().strip()).startsWith("sdj: sdj-test/does-not-exist@main: HTTP 401").doesNotContain("\tat ");
        Run noFile = sdj("pull", REPO + "/unet/nothing.safetensors");
        assertThat(noFile.code()).isEqualTo(1);
        assertThat(noFile.err().strip()).contains("unet/nothing.safetensors").contains("HTTP 404").doesNotContain("\tat ");
    }
}
