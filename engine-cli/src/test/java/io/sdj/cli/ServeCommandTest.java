package io.sdj.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code sdj serve}: usage errors before the model loads, and a served model answering over HTTP. */
class ServeCommandTest {
    record Run(int exit, String err) {}

    static Run run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Sdj.commandLine();
        cl.setErr(new PrintWriter(err));
        int exit = Sdj.run(cl, args);
        return new Run(exit, err.toString());
    }

    @Test
    void listeningBeyondLoopbackWithoutAKeyIsAUsageError() {
        Run r = run("serve", "--model", "does-not-matter", "--listen", "0.0.0.0");
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err().strip()).isEqualTo("sdj serve: listening on 0.0.0.0 (not a loopback address) needs an API key (--api-key)");
    }

    @Test
    void badSettingsAreUsageErrors() {
        assertThat(run("serve", "--model", "x", "--port", "70000").exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(run("serve", "--model", "x", "--queue", "-1").err()).contains("queue");
        assertThat(run("serve", "--model", "x", "--parallel", "0").exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(run("serve", "--model", "x", "--max-steps", "0").err()).contains("step limit");
        assertThat(run("serve", "--model", "/nonexistent/model.sdj", "--port", "0").exit()).isEqualTo(ExitCodes.BAD_MODEL);
    }

    @Test
    void servesTheModelUntilStopped() throws Exception {
        Path golden = Path.of(System.getProperty("golden.dir", "../shared/golden")).resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(golden), "golden case pipeline-sd1-tiny not found at " + golden);
        CommandLine cl = Sdj.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> Sdj.run(cl, "serve", "--model", golden.toString(), "--port", "0", "--api-key", "k1"));
        assertThat(serve.started.await(120, TimeUnit.SECONDS)).as(err.toString()).isTrue();
        URI base = serve.server.uri();
        assertThat(err.toString()).contains("sdj serve: ", base.toString(), "API key required");
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("v1/images/generations")).header("Authorization", "Bearer k1")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"a fox\", \"size\": \"64x64\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"b64_json\"");
        serve.server.close();
        assertThat(exit.get(60, TimeUnit.SECONDS)).isEqualTo(ExitCodes.OK);
    }
}
