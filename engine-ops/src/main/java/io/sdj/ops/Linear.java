package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

/** y = x·Wᵀ + b over the last dimension (PyTorch {@code nn.Linear}); W is [out, in] as upstream stores it. */
public final class Linear {
    private final String name;
    private final int in, out;
    private final PackedMatrix w; // Wᵀ [in, out] in column panels, off-heap
    private final float[] bias;   // [out] or null

    public Linear(WeightTensor weight, WeightTensor bias) {
        if (weight.shape().length != 2) throw new IllegalArgumentException("linear weight '" + weight.name() + "' must be 2-D, got " + weight);
        this.name = weight.name();
        this.out = weight.dim(0);
        this.in = weight.dim(1);
        if (in < 1 || out < 1) throw new IllegalArgumentException("linear weight '" + name + "' is empty: " + weight);
        this.w = PackedMatrix.transposedColumnPanels(weight);
        if (bias != null) bias.requireShape(out);
        this.bias = bias == null ? null : bias.toFloats();
    }

    public int inFeatures() { return in; }
    public int outFeatures() { return out; }
    PackedMatrix packedWeight() { return w; }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, Activation.NONE, null); }

    /** act(x·Wᵀ + b) + residual (residual may be null; its shape must equal the output's). */
    public Tensor forward(Workspace ws, Tensor x, Activation act, Tensor residual) {
        if (x.rank() < 1 || x.dim(-1) != in) {
            throw new IllegalArgumentException("linear '" + name + "': input " + x + " has last dimension "
                    + (x.rank() < 1 ? "none" : x.dim(-1)) + ", expected " + in);
        }
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = ws.take(shape);
        if (residual != null) Tensor.requireSameShape("linear '" + name + "' residual", y, residual);
        int rows = x.numel() / in;
        Gemm.multiply(x.data(), 0, in, rows, w, y.data(), 0, out, bias, act, residual == null ? null : residual.data());
        return y;
    }
}
