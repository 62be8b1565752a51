package io.sdj.models.pipeline;

import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.verify.GoldenCase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** One loaded pipeline used by many threads: same bytes as sequential runs, a clean close, cancellation in decoding. */
class Txt2ImgConcurrencyTest {
    private static Path dir;
    private static Txt2Img pipeline;

    @BeforeAll
    static void load() {
        dir = GoldenCase.goldenDir().resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(dir), "golden case pipeline-sd1-tiny not found at " + dir);
        pipeline = Txt2Img.load(dir);
    }

    @AfterAll
    static void close() {
        if (pipeline != null) pipeline.close();
    }

    private static GenerationRequest.Builder request(Txt2Img p, long seed) {
        return GenerationRequest.builder().prompt("a fox " + seed).negativePrompt("blurry").steps(2).sampler(SamplerKind.DDIM)
                .guidance(7.5f).seed(seed).size(64, 48);
    }

    private static byte[] pixels(GenerationResult r) {
        RgbImage img = r.images().get(0);
        return img.rgb().clone();
    }

    @Test
    void concurrentGenerationsGiveTheSequentialBytes() throws Exception {
        int threads = 4, perThread = 3;
        Map<Long, byte[]> sequential = new ConcurrentHashMap<>();
        for (long s = 0; s < threads * perThread; s++) sequential.put(s, pixels(pipeline.generate(request(pipeline, 100 + s).build())));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Map<Long, byte[]>>> futures = new ArrayList<>();
            CountDownLatch start = new CountDownLatch(1);
            for (int t = 0; t < threads; t++) {
                int first = t * perThread;
                futures.add(pool.submit(() -> {
                    start.await();
                    Map<Long, byte[]> got = new ConcurrentHashMap<>();
                    for (long s = first; s < first + perThread; s++) got.put(s, pixels(pipeline.generate(request(pipeline, 100 + s).build())));
                    return got;
                }));
            }
            start.countDown();
            for (Future<Map<Long, byte[]>> f : futures) {
                for (var e : f.get(10, TimeUnit.MINUTES).entrySet()) {
                    assertThat(e.getValue()).as("seed %d", 100 + e.getKey()).isEqualTo(sequential.get(e.getKey()));
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void closeWaitsForARunningGenerationThenRefusesNewOnes() throws Exception {
        Txt2Img own = Txt2Img.load(dir);
        CountDownLatch inStep = new CountDownLatch(1), release = new CountDownLatch(1);
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread gen = new Thread(() -> {
            try {
                GenerationResult r = own.generate(request(own, 7).listener((step, total, el, sps) -> {
                    if (step == 1) {
                        inStep.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }).build());
                outcome.set(r);
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        gen.start();
        assertThat(inStep.await(2, TimeUnit.MINUTES)).isTrue();
        Thread closer = new Thread(own::close);
        closer.start();
        closer.join(500);
        assertThat(closer.isAlive()).as("close() waits while a generation runs").isTrue();
        assertThatThrownBy(() -> own.generate(request(own, 8).build()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed");
        release.countDown();
        gen.join(120_000);
        closer.join(120_000);
        assertThat(closer.isAlive()).isFalse();
        assertThat(outcome.get()).as("the running generation finished normally").isInstanceOf(GenerationResult.class);
        assertThat(((GenerationResult) outcome.get()).images()).hasSize(1);
        assertThatThrownBy(() -> own.generate(request(own, 9).build()))
                .isInstanceOf(IllegalStateException.class).hasMessage("model 'pipeline-sd1-tiny' is closed: load it again to generate");
        own.close();   // twice is fine
    }

    @Test
    void decodersStopBetweenBlocksWhenCancelled() {
        Cancellation cancel = new Cancellation();
        cancel.cancel();
        io.sdj.core.Tensor latents = io.sdj.core.Tensor.zeros(1, 4, 8, 8);
        assertThatThrownBy(() -> pipeline.parts().vae().decode(new io.sdj.core.Workspace(), latents,
                new CancellableTrace(io.sdj.models.Trace.NONE, cancel, "decoding")))
                .isInstanceOf(CancellationException.class).hasMessageContaining("generation cancelled decoding (after post_quant_conv)");
    }
}
