package io.sdj.server;

import io.sdj.models.pipeline.Cancellation;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.RgbImage;
import io.sdj.models.pipeline.Txt2Img;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One HTTP request's generations, from the queue to the answer: its runs (one image each, run one after another),
 * the {@link Cancellation} the engine polls, the live progress {@code /sdapi/v1/progress} reports and the outcome.
 */
final class Job {
    enum State { QUEUED, RUNNING, DONE }

    /** What a job produced: every image finished before the end, and why it ended early (null = it did not). */
    record Outcome(List<GenerationResult> results, String stoppedBecause) {
        Outcome {
            results = List.copyOf(results);
        }
    }

    final String kind;
    final List<Txt2Img.Request> runs;
    final Cancellation cancellation = new Cancellation();
    final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    final long createdMillis = System.currentTimeMillis();

    volatile State state = State.QUEUED;
    volatile String cancelReason;
    volatile long startedNanos;
    volatile int run;          // index of the image being made
    volatile int step;         // steps done of that image
    volatile int steps;        // steps of that image (0 until the first step)
    volatile RgbImage preview; // the latest live preview, or null

    Job(String kind, List<Txt2Img.Request> runs) {
        if (runs.isEmpty()) throw new IllegalArgumentException("a job needs at least one run");
        this.kind = kind;
        this.runs = List.copyOf(runs);
    }

    /** Stops the job within one step; the first reason given is the one reported. */
    void cancel(String reason) {
        synchronized (this) {
            if (cancelReason == null) cancelReason = reason;
        }
        cancellation.cancel();
    }

    /** Fraction done, counting finished images and the steps of the current one. */
    double progress() {
        if (state == State.DONE) return 1;
        if (state == State.QUEUED) return 0;
        int total = steps;
        double current = total == 0 ? 0 : (double) step / total;
        return Math.min(1, (run + current) / runs.size());
    }

    /** A1111's {@code eta_relative}: elapsed / progress − elapsed, in seconds (0 before the first step). */
    double etaSeconds() {
        double p = progress();
        if (state != State.RUNNING || p <= 0) return 0;
        double elapsed = (System.nanoTime() - startedNanos) / 1e9;
        return Math.max(0, elapsed / p - elapsed);
    }
}
