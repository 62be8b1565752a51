package io.sdj.models;

import io.sdj.core.Tensor;

/**
 * Receives named intermediate activations during a forward pass, named as in the reference fixtures'
 * {@code intermediates.safetensors} (e.g. {@code conv_in}, {@code down_blocks.0}, {@code mid_block}).
 * Implementations must copy what they keep: the tensor's buffer is reused after the call returns.
 *
 * <p>{@link #mark} is a second channel: a model calls it when a named part (a resnet, an attention, a
 * transformer layer's self-attention ...) has just finished, so a profiler can time the pass part by part. Marks
 * are not activations and have no fixture counterpart; a trace that only collects activations ignores them.
 */
@FunctionalInterface
public interface Trace {
    Trace NONE = (name, t) -> { };

    void record(String name, Tensor t);

    /**
     * The part {@code name} of the forward pass has just finished with this output (for timing: the tensor tells its
     * resolution; it is not an activation to compare). Default: ignored.
     */
    default void mark(String name, Tensor output) { }

    /**
     * Whether this trace looks at the activations it is given (false for {@link #NONE} and for traces that only use
     * the calls as checkpoints, e.g. for cancellation). A model may run a fused path that skips an intermediate
     * tensor only when this is false, so the fusions also run inside the pipeline, not only in benchmarks.
     */
    default boolean keepsActivations() { return this != NONE; }

    /** This trace with every name (activations and marks) prefixed by {@code prefix + "."}; {@link #NONE} stays NONE. */
    default Trace at(String prefix) {
        if (this == NONE) return NONE;
        Trace parent = this;
        String p = prefix + ".";
        return new Trace() {
            @Override public void record(String name, Tensor t) { parent.record(p + name, t); }
            @Override public void mark(String name, Tensor output) { parent.mark(p + name, output); }
            @Override public Trace at(String more) { return parent.at(p + more); }
            @Override public boolean keepsActivations() { return parent.keepsActivations(); }
        };
    }
}
