package io.sdj.server;

import io.sdj.models.pipeline.Txt2Img;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A body over the limit is answered with 413 that the client reads, not with a reset connection: clients that send the
 * whole body without waiting for {@code 100 Continue} (curl for small bodies, Python's requests, Java's HttpClient) are
 * still writing when the server has decided.
 */
class LargeBodyTest {
    static final long LIMIT = 1 << 20;
    static Txt2Img sd;
    static ServerFixture f;

    @BeforeAll
    static void start() throws Exception {
        sd = ServerFixture.loadGolden();
        Limits l = Limits.DEFAULT;
        f = new ServerFixture(sd, ServerSettings.loopback(0).withLimits(new Limits(LIMIT, l.maxSide(), l.maxPixels(), l.maxSteps(), l.maxImages())));
    }

    @AfterAll
    static void stop() {
        if (f != null) f.close();
        if (sd != null) sd.close();
    }

    static String bodyOf(long bytes) {
        return "{\"prompt\": \"" + "x".repeat((int) bytes - 14) + "\"}";
    }

    @Test
    void aDeclaredLengthOverTheLimitIsReadAndRefusedEveryTime() throws Exception {
        for (long size : new long[] {LIMIT + 1, 3 * LIMIT / 2, 2 * LIMIT}) {
            for (int round = 0; round < 3; round++) {
                HttpResponse<String> r = f.post("/sdapi/v1/txt2img", bodyOf(size));
                assertThat(r.statusCode()).as("%d bytes, round %d", size, round).isEqualTo(413);
                assertThat(ServerFixture.json(r).get("detail").asText()).contains("(" + size + " bytes)", "(" + LIMIT + " bytes)");
            }
        }
        assertThat(f.get("/sdapi/v1/samplers").statusCode()).isEqualTo(200);
    }

    /** The race made deterministic: the rest of the body arrives after the server has decided (and, before, had closed). */
    @Test
    void aClientStillSendingItsBodyWhenTheServerDecidesReadsThe413() throws Exception {
        byte[] body = bodyOf(3 * LIMIT / 2).getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket(f.server.uri().getHost(), f.server.port())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, 1000);
            out.flush();
            Thread.sleep(500);
            out.write(body, 1000, body.length - 1000);
            out.flush();
            Thread.sleep(200);
            InputStream in = s.getInputStream();
            String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(head).isEqualTo("HTTP/1.1 413");
        }
    }

    @Test
    void aChunkedBodyOverTheLimitIsRefusedWithoutALength() throws Exception {
        byte[] body = bodyOf(3 * LIMIT / 2).getBytes(StandardCharsets.UTF_8);
        for (int round = 0; round < 3; round++) {
            HttpRequest req = HttpRequest.newBuilder(f.uri("/sdapi/v1/txt2img")).timeout(Duration.ofMinutes(1))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build();
            HttpResponse<String> r = f.http.send(req, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as("round %d", round).isEqualTo(413);
            assertThat(ServerFixture.json(r).get("detail").asText()).contains("larger than this server accepts (" + LIMIT + " bytes)");
        }
    }

    @Test
    void aHugeDeclaredBodyIsRefusedBeforeItIsSentAndTheConnectionClosed() throws Exception {
        long huge = 100 * LIMIT;
        try (Socket s = new Socket(f.server.uri().getHost(), f.server.port())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + huge + "\r\nExpect: 100-continue\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);   // to the server's close
            assertThat(answer).startsWith("HTTP/1.1 413").containsIgnoringCase("connection: close")
                    .contains("(" + huge + " bytes)").doesNotContain("100 Continue");
        }
    }
}
