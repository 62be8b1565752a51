package io.sdj.weights;

import io.sdj.core.DType;

import java.util.Arrays;

/**
 * One row of a flat file's tensor table. Offsets are relative to the start of the data section; {@code scalesOffset}
 * and {@code scalesLength} are set (≥ 0) only for {@link DType#I8}. {@code crc32c} covers the data bytes followed by
 * the scale bytes.
 */
public record TensorRecord(String component, String name, DType dtype, long[] shape, long offset, long length,
                           long scalesOffset, long scalesLength, long crc32c) {
    public TensorRecord {
        shape = shape.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new WeightsFormatException("tensor " + io.sdj.core.Quote.of(qualifiedName()) + ": dimension " + i + " is " + shape[i]
                        + ", above the largest supported (" + Integer.MAX_VALUE + ")");
            }
            s[i] = (int) shape[i];
        }
        return s;
    }

    /** "component/name" for messages. */
    public String qualifiedName() { return component + "/" + name; }

    @Override
    public String toString() {
        return qualifiedName() + " " + dtype + Arrays.toString(shape);
    }
}
