package io.sdj.models.verify;

import io.sdj.core.Tensor;

import java.util.Arrays;

/** One output an implementation produced for a reference case: float values, or integers that must match exactly. */
public record Produced(int[] shape, float[] floats, long[] longs) {

    public Produced {
        shape = shape.clone();
        if ((floats == null) == (longs == null)) throw new IllegalArgumentException("exactly one of floats/longs must be given");
        long n = Tensor.numel(shape);
        long have = floats != null ? floats.length : longs.length;
        if (have < n) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + have);
    }

    public static Produced of(float[] values, int... shape) { return new Produced(shape, values, null); }

    public static Produced of(Tensor t) { return new Produced(t.shape(), t.toArray(), null); }

    public static Produced ofLongs(long[] values, int... shape) { return new Produced(shape, null, values); }

    public boolean isInteger() { return longs != null; }

    public int numel() { return (int) Tensor.numel(shape); }
}
