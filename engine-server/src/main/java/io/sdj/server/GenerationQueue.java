package io.sdj.server;

import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.ProgressListener;
import io.sdj.models.pipeline.RgbImage;
import io.sdj.models.pipeline.Txt2Img;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CancellationException;

/**
 * The generations waiting for and running on one loaded model: at most {@code capacity} jobs wait (one more is refused:
 * {@link #submit} throws 503 with a Retry-After estimate) and {@code parallel} run at once, each on its own worker thread
 * ({@link Txt2Img#generate} is safe to call concurrently; every concurrent call takes its own activation workspace).
 * A job cancelled while waiting leaves the queue at once; a running one stops within one denoising step.
 */
final class GenerationQueue implements AutoCloseable {
    private final Txt2Img sd;
    private final int capacity;
    private final int previewEvery;
    private final ArrayDeque<Job> waiting = new ArrayDeque<>();
    private final List<Job> running = new ArrayList<>();
    private final List<Thread> workers = new ArrayList<>();
    private boolean closed;
    private double meanJobSeconds = 10;   // for Retry-After; a running mean of finished jobs
    private long finished;
    private Job lastFinished;

    GenerationQueue(Txt2Img sd, int capacity, int parallel, int previewEvery) {
        this.sd = sd;
        this.capacity = capacity;
        this.previewEvery = previewEvery;
        for (int i = 0; i < parallel; i++) {
            Thread t = Thread.ofPlatform().name("sdj-serve-generate-" + i).daemon(true).unstarted(this::work);
            workers.add(t);
            t.start();
        }
    }

    /** Queues a job, or refuses it (503) when {@code capacity} jobs already wait. */
    Job submit(String kind, List<Txt2Img.Request> runs) {
        Job job = new Job(kind, runs);
        synchronized (this) {
            if (closed) throw new ApiException(503, "the server is shutting down");
            int idleWorkers = Math.max(0, workers.size() - running.size());
            if (waiting.size() >= capacity + idleWorkers) {
                throw new QueueFullException(waiting.size(), retryAfterSeconds());
            }
            waiting.addLast(job);
            notifyAll();
        }
        return job;
    }

    /** Cancels a job: a waiting one is answered at once, a running one stops within one step. */
    void cancel(Job job, String reason) {
        job.cancel(reason);
        boolean removed;
        synchronized (this) {
            removed = waiting.remove(job);
        }
        if (removed) {
            job.state = Job.State.DONE;
            job.outcome.complete(new Job.Outcome(List.of(), reason));
        }
    }

    /** Cancels the running jobs (A1111's interrupt: the waiting ones still run); returns how many. */
    int interruptRunning() {
        List<Job> now;
        synchronized (this) {
            now = List.copyOf(running);
        }
        for (Job j : now) j.cancel("interrupted");
        return now.size();
    }

    /** The job that has been running longest, or null when idle. */
    synchronized Job current() {
        return running.stream().min(Comparator.comparingLong(j -> j.startedNanos)).orElse(null);
    }

    /** The job that ran and ended last (tests look at why it ended), or null. */
    synchronized Job lastFinished() { return lastFinished; }

    synchronized int waitingCount() { return waiting.size(); }

    synchronized int runningCount() { return running.size(); }

    /** Seconds until a slot is likely free: the mean job time × the jobs ahead ÷ the workers, at least 1. */
    private long retryAfterSeconds() {
        double ahead = (waiting.size() + running.size()) / (double) workers.size();
        return Math.max(1, Math.min(3600, (long) Math.ceil(meanJobSeconds * Math.max(1, ahead))));
    }

    private void work() {
        while (true) {
            Job job;
            synchronized (this) {
                while (waiting.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) return;
                job = waiting.pollFirst();
                job.state = Job.State.RUNNING;
                job.startedNanos = System.nanoTime();
                running.add(job);
            }
            Job.Outcome outcome = null;
            Throwable failure = null;
            try {
                outcome = run(job);
            } catch (RuntimeException | OutOfMemoryError e) {
                failure = e;
            } finally {
                synchronized (this) {
                    running.remove(job);
                    double seconds = (System.nanoTime() - job.startedNanos) / 1e9;
                    finished++;
                    meanJobSeconds += (seconds - meanJobSeconds) / Math.min(finished, 20);
                    lastFinished = job;
                }
                job.state = Job.State.DONE;
                job.preview = null;
            }
            if (failure != null) job.outcome.completeExceptionally(failure);
            else job.outcome.complete(outcome);
        }
    }

    private Job.Outcome run(Job job) {
        List<GenerationResult> results = new ArrayList<>();
        for (int i = 0; i < job.runs.size(); i++) {
            job.run = i;
            job.step = 0;
            job.steps = 0;
            try {
                results.add(sd.generate(job.runs.get(i).listener(listener(job)).cancellation(job.cancellation).build()));
            } catch (CancellationException e) {
                return new Job.Outcome(results, job.cancelReason == null ? "cancelled" : job.cancelReason);
            }
            if (job.cancellation.isCancelled()) return new Job.Outcome(results, job.cancelReason);
        }
        return new Job.Outcome(results, null);
    }

    private ProgressListener listener(Job job) {
        return new ProgressListener() {
            @Override
            public void onStep(int step, int total, Duration elapsed, double secondsPerStep) {
                job.steps = total;
                job.step = step;
            }

            @Override
            public int previewEvery() { return previewEvery; }

            @Override
            public void onPreview(int step, int total, RgbImage preview) { job.preview = preview; }
        };
    }

    /** Refuses new jobs, cancels every waiting and running one and waits (up to 30 s) for the workers to stop. */
    @Override
    public void close() {
        List<Job> all;
        synchronized (this) {
            if (closed) return;
            closed = true;
            all = new ArrayList<>(waiting);
            all.addAll(running);
            notifyAll();
        }
        for (Job j : all) cancel(j, "the server is shutting down");
        for (Thread t : workers) {
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** 503: the queue is full; {@link #retryAfterSeconds} goes into the Retry-After header. */
    static final class QueueFullException extends ApiException {
        final long retryAfterSeconds;

        QueueFullException(int waiting, long retryAfterSeconds) {
            super(503, "the queue is full (" + waiting + " requests waiting): try again in about " + retryAfterSeconds + " s");
            this.retryAfterSeconds = retryAfterSeconds;
        }
    }
}
