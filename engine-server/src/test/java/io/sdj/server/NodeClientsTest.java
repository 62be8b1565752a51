package io.sdj.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.models.pipeline.Txt2Img;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Real clients from npm against the server: the official OpenAI Node SDK ({@code openai}) and the web page in
 * headless Chromium (Debian's {@code chromium} driven by {@code playwright-core}). The scripts live in
 * {@code src/test/js}; without node, its {@code node_modules} ({@code npm ci} there) or {@code /usr/bin/chromium}
 * these tests skip with a message, unless {@code -Dsdj.server.requireClients=true} (CI) makes that a failure.
 */
class NodeClientsTest {
    static final String KEY = "test-key-123";
    static final Path JS = Path.of(System.getProperty("sdj.server.js", "src/test/js"));
    static final Path CHROMIUM = Path.of(System.getProperty("sdj.server.chromium", "/usr/bin/chromium"));
    static Txt2Img sd;
    static ServerFixture f;

    @BeforeAll
    static void start() throws Exception {
        sd = ServerFixture.loadGolden();
        f = new ServerFixture(sd, ServerSettings.loopback(0).withApiKey(KEY));
    }

    @AfterAll
    static void stop() {
        if (f != null) f.close();
        if (sd != null) sd.close();
    }

    /** Skips (or, when the clients are required, fails) with {@code message} unless {@code present}. */
    static void require(boolean present, String message) {
        if (present) return;
        if (Boolean.getBoolean("sdj.server.requireClients")) fail(message + " (required: -Dsdj.server.requireClients=true)");
        assumeTrue(false, message);
    }

    static void requireNode(String module) {
        require(run(List.of("node", "--version"), 30).exit == 0, "node is not on PATH: the Node client tests need it");
        require(Files.isDirectory(JS.resolve("node_modules").resolve(module)),
                "npm package " + module + " is not installed in " + JS.toAbsolutePath() + " (run 'npm ci' there)");
    }

    record Result(int exit, String out, String err) {}

    static Result run(List<String> command, int timeoutSeconds) {
        try {
            Path out = Files.createTempFile("sdj-node", ".out"), err = Files.createTempFile("sdj-node", ".err");
            try {
                Process p = new ProcessBuilder(command).directory(JS.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                    return new Result(-1, Files.readString(out), Files.readString(err) + "\n(timed out after " + timeoutSeconds + " s)");
                }
                return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            return new Result(-1, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "", e.toString());
        }
    }

    static JsonNode lastJsonLine(Result r) throws IOException {
        assertThat(r.exit).as("exit status; stderr:%n%s%nstdout:%n%s", r.err, r.out).isZero();
        String[] lines = r.out.strip().split("\n");
        return ServerFixture.JSON.readTree(lines[lines.length - 1]);
    }

    @Test
    void openAiNodeSdkGeneratesImages() throws Exception {
        requireNode("openai");
        String base = f.server.uri().resolve("v1").toString();
        JsonNode out = lastJsonLine(run(List.of("node", "openai-client.mjs", base, KEY), 180));
        assertThat(out.get("created").asLong()).isPositive();
        assertThat(out.get("images")).hasSize(2);
        List<String> distinct = new ArrayList<>();
        for (JsonNode b64 : out.get("images")) {
            BufferedImage png = ServerFixture.png(b64.asText());
            assertThat(png.getWidth()).isEqualTo(64);
            assertThat(png.getHeight()).isEqualTo(64);
            distinct.add(b64.asText());
        }
        assertThat(distinct.get(0)).as("two seeds, two images").isNotEqualTo(distinct.get(1));
        assertThat(out.get("url").get("status").asInt()).isEqualTo(400);
        assertThat(out.get("url").get("message").asText()).contains("response_format");
        assertThat(out.get("wrongKey").get("status").asInt()).isEqualTo(401);
    }

    @Test
    void webPageGeneratesAnImageAndCancels() throws Exception {
        requireNode("playwright-core");
        require(Files.isExecutable(CHROMIUM), "Chromium is not installed at " + CHROMIUM + " (Debian: apt-get install chromium)");
        // the page asks for the key after a 401; this server has one, so give the page a server without
        try (ServerFixture open = new ServerFixture(sd, ServerSettings.loopback(0))) {
            JsonNode out = lastJsonLine(run(List.of("node", "web-page.mjs", open.server.uri().toString(), CHROMIUM.toString()), 300));
            System.err.println("web page: " + out);
            assertThat(out.get("samplers").toString()).contains("Euler a");
            assertThat(out.get("result").get("src").asText()).isEqualTo("data:image/png;base64,");
            assertThat(out.get("result").get("complete").asBoolean()).isTrue();
            assertThat(out.get("result").get("width").asInt()).isEqualTo(64);
            assertThat(out.get("result").get("height").asInt()).isEqualTo(64);
            assertThat(out.get("parameters").asText()).startsWith("a lighthouse on a cliff at dusk").contains("Steps: 3", "Seed: 42", "Size: 64x64");
            assertThat(out.get("status").asText()).isEqualTo("done, seed 42");
            assertThat(out.get("progressSeen").asDouble()).isPositive();
            assertThat(out.get("afterCancel").asText()).isEqualTo("cancelled");
            assertThat(out.get("idleAfterCancel").asBoolean()).as("the cancelled generation stopped on the server").isTrue();
            Job cancelled = open.server.queue().lastFinished();
            assertThat(cancelled.cancelReason).as("why the page's long generation ended").isEqualTo("client disconnected");
            assertThat(cancelled.step).isLessThan(150);
            assertThat(out.get("errors")).isEmpty();
        }
    }
}
