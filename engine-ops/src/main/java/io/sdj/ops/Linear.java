package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

/** y = x·Wᵀ + b over the last dimension (PyTorch {@code nn.Linear}); W is [out, in] as upstream stores it. */
public final class Linear {
    private final String name;
    private final int in, out;
    private final float[] w;      // [out, in]
    private final float[] bias;   // [out] or null

    public Linear(WeightTensor weight, WeightTensor bias) {
        if (weight.shape().length != 2) throw new IllegalArgumentException("linear weight '" + weight.name() + "' must be 2-D, got " + weight);
        this.name = weight.name();
        this.out = weight.dim(0);
        this.in = weight.dim(1);
        this.w = weight.toFloats();
        if (bias != null) bias.requireShape(out);
        this.bias = bias == null ? null : bias.toFloats();
    }

    public int inFeatures() { return in; }
    public int outFeatures() { return out; }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, Activation.NONE, null); }

    /** act(x·Wᵀ + b) + residual (residual may be null; its shape must equal the output's). */
    public Tensor forward(Workspace ws, Tensor x, Activation act, Tensor residual) {
        if (x.dim(-1) != in) {
            throw new IllegalArgumentException("linear '" + name + "': input " + x + " has last dimension " + x.dim(-1) + ", expected " + in);
        }
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = ws.take(shape);
        if (residual != null) Tensor.requireSameShape("linear '" + name + "' residual", y, residual);
        int rows = x.numel() / in;
        float[] xd = x.data(), yd = y.data();
        float[] rd = residual == null ? null : residual.data();
        io.sdj.core.Parallel.forEach(rows, r -> {
            for (int o = 0; o < out; o++) {
                float s = 0;
                int xo = r * in, wo = o * in;
                for (int k = 0; k < in; k++) s += xd[xo + k] * w[wo + k];
                if (bias != null) s += bias[o];
                s = act.apply(s);
                if (rd != null) s += rd[r * out + o];
                yd[r * out + o] = s;
            }
        });
        return y;
    }
}
