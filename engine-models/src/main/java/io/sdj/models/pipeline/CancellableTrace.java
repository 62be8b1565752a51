package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.models.Trace;

/**
 * The trace a pipeline stage hands to a decoder or encoder: it forwards the stage's own names to the request's trace
 * and carries the request's {@link Cancellation}, so the long decode of a large image stops between blocks.
 * {@link #blockCheckpoints(Trace)} gives the trace for the model's inner blocks: it records nothing and checks for
 * cancellation after every block (VAE: conv_in, mid block, each up block; TAESD: every layer).
 */
record CancellableTrace(Trace inner, Cancellation cancellation, String stage) implements Trace {
    @Override
    public void record(String name, Tensor t) {
        inner.record(name, t);
    }

    /** The inner-block trace for {@code trace}: cancellation checks when it is a {@link CancellableTrace}, else none. */
    static Trace blockCheckpoints(Trace trace) {
        if (trace instanceof CancellableTrace ct) {
            return new Trace() {
                @Override public void record(String name, Tensor t) { ct.cancellation().check(ct.stage() + " (after " + name + ")"); }
                @Override public boolean keepsActivations() { return false; }
            };
        }
        return Trace.NONE;
    }
}
