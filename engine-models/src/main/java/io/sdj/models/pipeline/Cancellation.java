package io.sdj.models.pipeline;

import java.util.concurrent.CancellationException;

/**
 * A flag another thread (a Ctrl-C hook, a UI) sets to stop a generation; the pipeline checks it before every model
 * evaluation, so it stops within one step and throws {@link CancellationException}.
 */
public final class Cancellation {
    private volatile boolean cancelled;

    public void cancel() { cancelled = true; }

    public boolean isCancelled() { return cancelled; }

    /** Throws {@link CancellationException} naming {@code where} when cancelled. */
    public void check(String where) {
        if (cancelled) throw new CancellationException("generation cancelled " + where);
    }
}
