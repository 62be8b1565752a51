package io.sdj.core;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A tiny fork-join helper over a fixed set of daemon worker threads.
 * <p>Work is always split over <em>outputs</em>: {@link #forEach} hands each index to exactly one task and the split
 * never depends on timing, so every result is bit-identical whatever the thread count (no racing reductions).
 * <p>The thread count is {@code -Dsdj.threads=N} or {@link #setThreads(int)}; default: available processors.
 * <p>A kernel call is often well under a millisecond, so handing work over must cost microseconds, not the 35–80 µs
 * a thread pool's park/unpark round trip measured here. Idle workers therefore spin for {@link #SPIN_NANOS} after
 * each job before they park, and the caller spins the same while it waits (neither spins when there are more threads
 * than processors). A call made while another is running — nested inside a task, or from a second application
 * thread — runs on its calling thread alone, which gives the same bits.
 */
public final class Parallel {
    /** How long an idle worker, or a caller waiting for workers, spins before it parks. */
    static final long SPIN_NANOS = 200_000;

    private static volatile int threads = initialThreads();
    private static final AtomicBoolean busy = new AtomicBoolean();
    private static Worker[] workers = new Worker[0]; // grows under `busy`
    private static volatile Job current;

    private Parallel() {}

    private static int initialThreads() {
        return Settings.atLeastOne("sdj.threads", System.getProperty("sdj.threads"), "whole number",
                Runtime.getRuntime().availableProcessors());
    }

    public static int threads() { return threads; }

    /** Sets the number of threads used by every kernel (≥ 1). */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("thread count must be ≥ 1, got " + n);
        threads = n;
    }

    private static final ThreadLocal<Boolean> CALLER_ONLY = ThreadLocal.withInitial(() -> false);

    /**
     * Runs {@code work} with every fork-join it makes run on the calling thread alone, leaving the workers to other
     * callers (background work such as a kernel warm-up). The tile grid still follows {@link #threads()}, so the bits
     * are the same as ever.
     */
    public static void callerOnly(Runnable work) {
        boolean was = CALLER_ONLY.get();
        CALLER_ONLY.set(true);
        try {
            work.run();
        } finally {
            CALLER_ONLY.set(was);
        }
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
        if (t <= 1 || CALLER_ONLY.get() || !busy.compareAndSet(false, true)) { // one thread, nested / concurrent, or callerOnly: run here
            if (n > 0) body.run(0, n);
            return;
        }
        Job job;
        try {
            if (workers.length < t - 1) growTo(t - 1);
            job = new Job(body, n, t, Thread.currentThread());
            current = job;
            for (int k = 0; k < t - 1; k++) workers[k].wake();
            try {
                body.run(0, job.from(1));
            } catch (Throwable e) {
                job.fail(e);
            }
            job.awaitWorkers();
            job.body = null; // `current` outlives the call: do not keep what the body captured reachable
        } finally {
            busy.set(false);
        }
        Throwable failure = job.failure;
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new IllegalStateException(failure);
    }

    private static void growTo(int count) {
        Worker[] grown = java.util.Arrays.copyOf(workers, count);
        for (int k = workers.length; k < count; k++) {
            grown[k] = new Worker(k + 1);
            grown[k].start();
        }
        workers = grown;
    }

    private static final int PROCESSORS = Runtime.getRuntime().availableProcessors();

    private static boolean spinning() { return threads <= PROCESSORS; }

    /** One forRange call: chunk k of t is [from(k), from(k + 1)), chunk 0 on the caller. */
    private static final class Job {
        RangeBody body;
        final int n, t;
        final Thread caller;
        final AtomicInteger pending;
        volatile Throwable failure;
        volatile boolean callerParked;

        Job(RangeBody body, int n, int t, Thread caller) {
            this.body = body;
            this.n = n;
            this.t = t;
            this.caller = caller;
            this.pending = new AtomicInteger(t - 1);
        }

        int from(int k) { return (int) ((long) n * k / t); }

        synchronized void fail(Throwable e) { if (failure == null) failure = e; }

        /** Run by worker k (1 ≤ k < t). */
        void runChunk(int k) {
            try {
                body.run(from(k), from(k + 1));
            } catch (Throwable e) {
                fail(e);
            } finally {
                if (pending.decrementAndGet() == 0 && callerParked) LockSupport.unpark(caller);
            }
        }

        void awaitWorkers() {
            long deadline = System.nanoTime() + SPIN_NANOS;
            boolean spin = spinning();
            while (pending.get() > 0) {
                if (spin && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                } else {
                    callerParked = true;
                    if (pending.get() > 0) LockSupport.park(this);
                    callerParked = false;
                }
            }
        }
    }

    private static final class Worker extends Thread {
        private final int index;
        private volatile boolean parked;

        Worker(int index) {
            super("sdj-worker-" + index);
            this.index = index;
            setDaemon(true);
        }

        void wake() { if (parked) LockSupport.unpark(this); }

        @Override
        public void run() {
            Job done = null;
            while (true) {
                Job job = awaitNext(done);
                if (index < job.t) job.runChunk(index);
                done = job;
            }
        }

        private Job awaitNext(Job done) {
            long deadline = System.nanoTime() + SPIN_NANOS;
            boolean spin = spinning();
            Job job;
            while ((job = current) == done) {
                if (spin && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    if (current == done) LockSupport.park(this);
                    parked = false;
                }
            }
            return job;
        }
    }
}
