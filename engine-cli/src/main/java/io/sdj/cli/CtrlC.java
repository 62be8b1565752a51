package io.sdj.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * What Ctrl-C (SIGINT/SIGTERM) does while one command runs: a JVM shutdown hook that runs an action (set a
 * cancellation flag, stop a server) and then holds the JVM for up to a grace period until {@link #close()} says the
 * work has stopped and cleaned up (temporary files removed, the current step finished). Registered on creation,
 * removed by {@link #close()}; when the JVM is already shutting down neither can happen, which is harmless.
 */
final class CtrlC implements AutoCloseable {
    private final Thread hook;
    private final boolean registered;
    private final CountDownLatch finished = new CountDownLatch(1);

    private CtrlC(Runnable action, Duration grace, String name) {
        this.hook = new Thread(() -> {
            action.run();
            try {
                finished.await(grace.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, name);
        boolean ok;
        try {
            Runtime.getRuntime().addShutdownHook(hook);
            ok = true;
        } catch (IllegalStateException e) {
            ok = false;   // already shutting down
        }
        this.registered = ok;
    }

    /** Runs {@code action} on Ctrl-C, then waits up to {@code grace} for {@link #close()}. */
    static CtrlC onInterrupt(Runnable action, Duration grace, String name) {
        return new CtrlC(action, grace, name);
    }

    /** The work has stopped: releases a waiting hook and unregisters it. */
    @Override
    public void close() {
        finished.countDown();
        if (registered) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down (Ctrl-C): the hook is running
            }
        }
    }
}
