package io.sdj.weights;

import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A file of named tensors in any dtype, read without copying where possible: a {@link Safetensors} file or a pickled
 * PyTorch checkpoint ({@link TorchCheckpoint}). Float tensors are also available as {@link WeightTensor}s.
 */
public interface TensorFile extends WeightSource, AutoCloseable {
    Path path();

    /** The safetensors name of the tensor's dtype (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL). */
    String dtype(String name);

    long[] shape(String name);

    /** The tensor's little-endian bytes, row-major. */
    MemorySegment bytes(String name);

    @Override
    void close();

    /** Float weights: F32, F16, BF16, and the float8 formats that {@link Safetensors} widens to F32. */
    static boolean isFloat(String dtype) { return Safetensors.isFloat(dtype); }

    /** Opens a {@code .safetensors} file or a pickled checkpoint ({@code .ckpt}, {@code .pt}, {@code .pth}, {@code .bin}). */
    static TensorFile open(Path path) {
        return TorchCheckpoint.isPickleName(path) ? TorchCheckpoint.open(path) : Safetensors.open(path);
    }
}
