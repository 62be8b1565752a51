package io.sdj.server;

import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Notices a client that hangs up while its request waits or runs. Jetty reads nothing from an HTTP/1.1 connection
 * while the request is being handled (the body is already read), so a closed socket would only show when the answer
 * is written, minutes later. Every {@link #PERIOD_MS} ms the watch reads from the connection without blocking: −1
 * (end of stream) or an error means the client is gone and {@code onGone} runs (it cancels the job). A client that
 * sends bytes instead (a pipelined next request, which no image API client does) ends the watch; its connection is
 * then closed after the answer, because the byte read cannot be given back to Jetty's parser.
 */
final class ClientWatch implements AutoCloseable {
    static final long PERIOD_MS = 200;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("sdj-serve-client-watch").daemon(true).unstarted(r));

    /** One watched connection; {@link #stop} before the answer is written. */
    static final class Watch {
        private final EndPoint endPoint;
        private final Runnable onGone;
        private ScheduledFuture<?> task;
        private boolean stopped;
        private boolean consumedInput;
        private boolean gone;

        private Watch(EndPoint endPoint, Runnable onGone) {
            this.endPoint = endPoint;
            this.onGone = onGone;
        }

        private void probe() {
            boolean hungUp;
            synchronized (this) {
                if (stopped) return;
                int n;
                try {
                    ByteBuffer one = BufferUtil.allocate(1);
                    n = endPoint.fill(one);
                } catch (IOException | RuntimeException e) {
                    n = -1;
                }
                if (n == 0) return;
                stopped = true;
                task.cancel(false);
                consumedInput = n > 0;
                hungUp = n < 0;
                gone = hungUp;
            }
            if (hungUp) onGone.run();
        }

        /** Ends the watch; true when it took bytes of the next request (the connection must close after the answer). */
        synchronized boolean stop() {
            stopped = true;
            if (task != null) task.cancel(false);
            return consumedInput;
        }

        /** Whether the client hung up. */
        synchronized boolean clientGone() { return gone; }
    }

    Watch watch(EndPoint endPoint, Runnable onGone) {
        Watch w = new Watch(endPoint, onGone);
        synchronized (w) {
            w.task = timer.scheduleWithFixedDelay(w::probe, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
        }
        return w;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
