package io.sdj.core;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ExecutionException;
import java.util.function.IntConsumer;

/**
 * A tiny fork-join helper over a fixed pool of daemon threads, sized to the machine.
 * <p>Work is always split over <em>outputs</em>: {@link #forEach} hands each index to exactly one task and the split
 * never depends on timing, so every result is bit-identical whatever the thread count (no racing reductions).
 * <p>The thread count is {@code -Dsdj.threads=N} or {@link #setThreads(int)}; default: available processors.
 */
public final class Parallel {
    private static volatile int threads = initialThreads();
    private static ExecutorService pool;

    private Parallel() {}

    private static int initialThreads() {
        String p = System.getProperty("sdj.threads");
        if (p != null && !p.isBlank()) {
            try {
                int n = Integer.parseInt(p.trim());
                if (n >= 1) return n;
            } catch (NumberFormatException ignored) {
                // fall through to the error below
            }
            throw new IllegalArgumentException("-Dsdj.threads must be a whole number ≥ 1, got '" + p + "'");
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public static int threads() { return threads; }

    /** Sets the number of threads used by every kernel (≥ 1). */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("thread count must be ≥ 1, got " + n);
        threads = n;
    }

    private static synchronized ExecutorService pool() {
        if (pool == null) {
            pool = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "sdj-worker");
                t.setDaemon(true);
                return t;
            });
        }
        return pool;
    }

    /** Runs {@code body.accept(i)} for every i in [0, n), spread over the threads. */
    public static void forEach(int n, IntConsumer body) {
        forRange(n, (from, to) -> {
            for (int i = from; i < to; i++) body.accept(i);
        });
    }

    /** A contiguous chunk [from, to) of an index range. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Splits [0, n) into at most {@link #threads()} contiguous chunks of near-equal size and runs them in parallel,
     * the calling thread taking the first. Returns when all are done; rethrows the first failure.
     */
    public static void forRange(int n, RangeBody body) {
        int t = Math.min(threads, n);
        if (t <= 1) {
            if (n > 0) body.run(0, n);
            return;
        }
        @SuppressWarnings("unchecked")
        Future<?>[] futures = new Future<?>[t - 1];
        ExecutorService p = pool();
        for (int k = 1; k < t; k++) {
            int from = (int) ((long) n * k / t), to = (int) ((long) n * (k + 1) / t);
            futures[k - 1] = p.submit(() -> body.run(from, to));
        }
        Throwable failure = null;
        try {
            body.run(0, (int) ((long) n / t));
        } catch (Throwable e) {
            failure = e;
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = e;
            }
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new IllegalStateException(failure);
    }
}
