package io.sdj.models;

import io.sdj.core.Tensor;

/**
 * Receives named intermediate activations during a forward pass, named as in the reference fixtures'
 * {@code intermediates.safetensors} (e.g. {@code conv_in}, {@code down_blocks.0}, {@code mid_block}).
 * Implementations must copy what they keep: the tensor's buffer is reused after the call returns.
 */
@FunctionalInterface
public interface Trace {
    Trace NONE = (name, t) -> { };

    void record(String name, Tensor t);
}
