package io.sdj.models.blocks;

import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;

/**
 * How model blocks fetch a parameter: by its upstream name relative to the block, with the shape the block's
 * construction implies. A real source must hold exactly that shape (else an error names the tensor and both shapes);
 * {@link SyntheticWeights} instead creates the tensor with that shape on request.
 */
public final class ModelWeights {
    private ModelWeights() {}

    public static WeightTensor tensor(WeightSource w, String name, int... shape) {
        if (w instanceof SyntheticWeights s) return s.create(name, shape);
        if (!w.contains(name)) {
            throw new IllegalArgumentException(w.origin() + ": missing weight '" + name + "' (expected shape "
                    + java.util.Arrays.toString(shape) + ")");
        }
        return w.get(name).requireShape(shape);
    }

    /** A [out, in, 1, 1] convolution weight viewed as the [out, in] matrix of a Linear over tokens (same bytes). */
    public static WeightTensor conv1x1AsMatrix(WeightTensor t) {
        if (t.shape().length != 4 || t.dim(2) != 1 || t.dim(3) != 1) {
            throw new IllegalArgumentException("weight '" + t.name() + "' is not a 1×1 convolution: " + t);
        }
        return new WeightTensor(t.name(), t.dtype(), new int[]{t.dim(0), t.dim(1)}, t.data(), t.scales());
    }
}
