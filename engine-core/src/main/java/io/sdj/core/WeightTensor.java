package io.sdj.core;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A stored weight: upstream name, dtype, shape and its little-endian bytes (usually a zero-copy slice of a
 * memory-mapped file). {@code scales} holds one float per index of the first dimension for {@link DType#I8}, else null.
 */
public record WeightTensor(String name, DType dtype, int[] shape, MemorySegment data, float[] scales) {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public WeightTensor {
        shape = shape.clone();
        long expected = Tensor.numel(shape) * dtype.bytes();
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " × " + dtype
                    + " needs " + expected + " bytes, data has " + data.byteSize());
        }
        if (dtype == DType.I8 && (scales == null || shape.length == 0 || scales.length != shape[0])) {
            throw new IllegalArgumentException("tensor '" + name + "': I8 needs one scale per output channel");
        }
    }

    /** A F32 weight over a heap array (tests, synthetic weights). */
    public static WeightTensor ofFloats(String name, float[] values, int... shape) {
        return new WeightTensor(name, DType.F32, shape, MemorySegment.ofArray(values), null);
    }

    public long numel() { return Tensor.numel(shape); }

    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

    /** Element {@code i} (flat, row-major) widened to float; I8 is dequantised with its channel scale. */
    public float get(long i) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, i);
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, i));
            case BF16 -> DType.bf16ToFloat(data.getAtIndex(I16, i));
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i) * scales[(int) (i / (numel() / shape[0]))];
        };
    }

    /** All elements widened to a new float array. */
    public float[] toFloats() {
        long n = numel();
        float[] out = new float[Math.toIntExact(n)];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32, 0, out, 0, out.length);
            return out;
        }
        for (int i = 0; i < out.length; i++) out[i] = get(i);
        return out;
    }

    /** Throws with a message naming this tensor unless its shape equals {@code expected}. */
    public WeightTensor requireShape(int... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new IllegalArgumentException("weight '" + name + "' has shape " + Arrays.toString(shape)
                    + ", expected " + Arrays.toString(expected));
        }
        return this;
    }

    @Override
    public String toString() { return name + " " + dtype + Arrays.toString(shape); }
}
