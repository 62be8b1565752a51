package io.sdj.models.blocks;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Conv2d;
import io.sdj.ops.SeparableConv2d;

/**
 * A 3×3 convolution of a UNet block, dense or depthwise-separable (golden README, "Efficient UNet blocks",
 * {@code conv_type}): dense reads {@code <name>.weight} [out, in, 3, 3] and {@code <name>.bias}; separable reads
 * {@code <name>.depthwise.weight} [in, 1, 3, 3], {@code .depthwise.bias} [in], {@code <name>.pointwise.weight}
 * [out, in, 1, 1], {@code .pointwise.bias} [out] and applies depthwise (same stride, zero padding 1) then pointwise.
 */
public final class Conv3x3 {
    private final Conv2d dense;
    private final SeparableConv2d separable;

    /** @param padding zero padding of the dense conv (a separable conv always pads by 1) */
    public Conv3x3(WeightSource w, String name, int in, int out, int stride, int padding, boolean separable) {
        if (separable) {
            this.dense = null;
            this.separable = new SeparableConv2d(
                    ModelWeights.tensor(w, name + ".depthwise.weight", in, 1, 3, 3), ModelWeights.tensor(w, name + ".depthwise.bias", in),
                    ModelWeights.tensor(w, name + ".pointwise.weight", out, in, 1, 1), ModelWeights.tensor(w, name + ".pointwise.bias", out),
                    stride);
        } else {
            this.dense = new Conv2d(ModelWeights.tensor(w, name + ".weight", out, in, 3, 3), ModelWeights.tensor(w, name + ".bias", out), stride, padding);
            this.separable = null;
        }
    }

    public boolean isSeparable() { return separable != null; }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, null); }

    /** conv(x) + residual (residual may be null; same shape as the output). */
    public Tensor forward(Workspace ws, Tensor x, Tensor residual) {
        return dense != null ? dense.forward(ws, x, residual) : separable.forward(ws, x, io.sdj.ops.Activation.NONE, residual);
    }
}
