package io.sdj.core;

import java.util.Arrays;

/**
 * A dense float32 activation tensor, row-major and contiguous (NCHW for images, [B, T, C] for token sequences).
 * {@code data} may be longer than {@link #numel()} when it came from a {@link Workspace}: kernels must use
 * {@code numel()}, never {@code data.length}.
 */
public final class Tensor {
    private final int[] shape;
    private final float[] data;
    private final long numel;

    public Tensor(float[] data, int... shape) {
        this.shape = shape.clone();
        this.numel = numel(shape);
        if (data.length < numel) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " needs " + numel
                    + " floats but its buffer holds " + data.length);
        }
        this.data = data;
    }

    /** A zero-filled tensor on the heap (not from a workspace). */
    public static Tensor zeros(int... shape) {
        return new Tensor(new float[Math.toIntExact(numel(shape))], shape);
    }

    public static Tensor of(float[] data, int... shape) { return new Tensor(data, shape); }

    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    public float[] data() { return data; }
    public int[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    /** Size of dimension {@code i}; negative indices count from the end. */
    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }
    public int numel() { return (int) numel; }

    /** Same buffer, new shape of equal element count. */
    public Tensor reshape(int... newShape) {
        if (numel(newShape) != numel) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
        return new Tensor(data, newShape);
    }

    public boolean sameShape(Tensor o) { return Arrays.equals(shape, o.shape); }

    /** Throws with a message naming {@code op} and both shapes unless {@code a} and {@code b} have equal shapes. */
    public static void requireSameShape(String op, Tensor a, Tensor b) {
        if (!a.sameShape(b)) {
            throw new IllegalArgumentException(op + ": shapes differ: " + Arrays.toString(a.shape) + " vs " + Arrays.toString(b.shape));
        }
    }

    /** Throws with a message naming {@code op} unless this tensor has {@code rank} dimensions. */
    public Tensor requireRank(String op, int rank) {
        if (shape.length != rank) {
            throw new IllegalArgumentException(op + ": expected a rank-" + rank + " tensor, got shape " + Arrays.toString(shape));
        }
        return this;
    }

    /** Throws with a message naming {@code op} unless dimension {@code i} equals {@code expected}. */
    public Tensor requireDim(String op, int i, int expected) {
        if (dim(i) != expected) {
            throw new IllegalArgumentException(op + ": dimension " + i + " of shape " + Arrays.toString(shape)
                    + " is " + dim(i) + ", expected " + expected);
        }
        return this;
    }

    /** A heap copy holding exactly numel() floats. */
    public float[] toArray() { return Arrays.copyOf(data, (int) numel); }

    public Tensor copy() { return new Tensor(toArray(), shape); }

    @Override
    public String toString() { return "Tensor" + Arrays.toString(shape); }
}
