package io.sdj.server;

import io.sdj.models.pipeline.Txt2Img;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The bounded queue under load, and clients that hang up. */
class QueueTest {
    @Test
    void thirtyTwoConcurrentRequestsOnASmallQueue() throws Exception {
        try (Txt2Img sd = ServerFixture.loadGolden();
             ServerFixture f = new ServerFixture(sd, ServerSettings.loopback(0).withQueue(3, 1))) {
            long[] heapAfter = new long[3];
            for (int round = 0; round < 3; round++) {
                List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
                for (int i = 0; i < 32; i++) {
                    String body = "{\"prompt\": \"request " + i + "\", \"steps\": 2, \"width\": 64, \"height\": 64, \"seed\": " + i + "}";
                    all.add(f.http.sendAsync(HttpRequest.newBuilder(f.uri("/sdapi/v1/txt2img")).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                            HttpResponse.BodyHandlers.ofString()));
                }
                int ok = 0, full = 0;
                for (CompletableFuture<HttpResponse<String>> c : all) {
                    HttpResponse<String> r = c.get(5, java.util.concurrent.TimeUnit.MINUTES);
                    if (r.statusCode() == 200) {
                        ok++;
                        assertThat(ServerFixture.png(ServerFixture.json(r).get("images").get(0).asText()).getWidth()).isEqualTo(64);
                    } else {
                        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
                        assertThat(r.headers().firstValue("Retry-After")).isPresent();
                        assertThat(Long.parseLong(r.headers().firstValue("Retry-After").get())).isPositive();
                        assertThat(ServerFixture.json(r).get("detail").asText()).contains("queue is full");
                        full++;
                    }
                }
                assertThat(ok + full).isEqualTo(32);   // every request answered
                assertThat(ok).as("accepted").isGreaterThanOrEqualTo(4);   // the running one and the three waiting
                assertThat(full).as("refused").isPositive();
                assertThat(f.server.queue().waitingCount() + f.server.queue().runningCount()).isZero();
                System.gc();
                Thread.sleep(200);
                System.gc();
                heapAfter[round] = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            }
            System.err.printf("heap after each round of 32: %d, %d, %d MB%n", heapAfter[0] >> 20, heapAfter[1] >> 20, heapAfter[2] >> 20);
            assertThat(heapAfter[2] - heapAfter[0]).as("heap growth over two more rounds").isLessThan(64L << 20);
            // the server still serves
            assertThat(f.post("/sdapi/v1/txt2img", "{\"prompt\": \"after\", \"steps\": 1, \"width\": 64, \"height\": 64}").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aClientThatHangsUpCancelsItsRunningAndItsQueuedRequest() throws Exception {
        try (Txt2Img sd = ServerFixture.loadGolden();
             ServerFixture f = new ServerFixture(sd, ServerSettings.loopback(0).withQueue(4, 1))) {
            GenerationQueue q = f.server.queue();
            Socket running = send(f, "{\"prompt\": \"long\", \"steps\": 150, \"width\": 256, \"height\": 256}");
            waitFor(() -> q.current() != null && q.current().step >= 1, "the first request to run");
            Job first = q.current();
            Socket queued = send(f, "{\"prompt\": \"queued\", \"steps\": 150, \"width\": 256, \"height\": 256}");
            waitFor(() -> q.waitingCount() == 1, "the second request to wait");

            queued.close();
            waitFor(() -> q.waitingCount() == 0, "the queued request to leave the queue");
            assertThat(q.current()).isSameAs(first);   // the running one goes on
            assertThat(first.cancellation.isCancelled()).isFalse();

            running.close();
            waitFor(() -> q.runningCount() == 0, "the running request to stop");
            assertThat(first.cancelReason).isEqualTo("client disconnected");
            assertThat(first.step).isLessThan(150);
            assertThat(f.post("/sdapi/v1/txt2img", "{\"prompt\": \"next\", \"steps\": 1, \"width\": 64, \"height\": 64}").statusCode()).isEqualTo(200);
        }
    }

    private static Socket send(ServerFixture f, String json) throws Exception {
        Socket s = new Socket("127.0.0.1", f.server.port());
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        return s;
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }
}
