package io.sdj.core;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Hands out and takes back activation buffers so that a steady-state sampler step allocates (almost) nothing.
 * Buffers are pooled by exact length: the same shapes recur every step, so after the first step every
 * {@link #take} is served from the pool. Contents of a taken tensor are unspecified unless {@link #zeros} is used.
 * <p>A tensor must be released at most once and not used after release. Thread-safe.
 */
public final class Workspace {
    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    private long allocations;
    private long allocatedBytes;
    private long takes;

    /** A tensor of this shape; its contents are unspecified. */
    public synchronized Tensor take(int... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        takes++;
        ArrayDeque<float[]> q = free.get(n);
        float[] buf = q == null ? null : q.pollFirst();
        if (buf == null) {
            buf = new float[n];
            allocations++;
            allocatedBytes += 4L * n;
        }
        return new Tensor(buf, shape);
    }

    /** A zero-filled tensor of this shape. */
    public Tensor zeros(int... shape) {
        Tensor t = take(shape);
        java.util.Arrays.fill(t.data(), 0, t.numel(), 0f);
        return t;
    }

    /** Gives buffers back to the pool (null entries are ignored). */
    public synchronized void release(Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t == null) continue;
            float[] buf = t.data();
            free.computeIfAbsent(buf.length, k -> new ArrayDeque<>()).addFirst(buf);
        }
    }

    /** Number of fresh buffers allocated so far (a steady state adds none). */
    public synchronized long allocations() { return allocations; }

    public synchronized long allocatedBytes() { return allocatedBytes; }

    public synchronized long takes() { return takes; }

    /** Drops every pooled buffer. */
    public synchronized void clear() { free.clear(); }
}
