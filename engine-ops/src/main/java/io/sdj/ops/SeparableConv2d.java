package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

/**
 * Depthwise-separable convolution (MobileDiffusion): a depthwise k×k convolution (padding k/2, stride 1 or 2)
 * followed by a pointwise 1×1 convolution to the output channels, each with its optional bias.
 * The intermediate activation is a workspace buffer released before returning.
 */
public final class SeparableConv2d {
    private final DepthwiseConv2d depthwise;
    private final Conv2d pointwise;

    public SeparableConv2d(WeightTensor depthwiseWeight, WeightTensor depthwiseBias,
                           WeightTensor pointwiseWeight, WeightTensor pointwiseBias, int stride) {
        this.depthwise = new DepthwiseConv2d(depthwiseWeight, depthwiseBias, stride, depthwiseWeight.dim(-1) / 2);
        if (pointwiseWeight.shape().length != 4 || pointwiseWeight.dim(2) != 1 || pointwiseWeight.dim(3) != 1
                || pointwiseWeight.dim(1) != depthwise.channels()) {
            throw new IllegalArgumentException("pointwise weight '" + pointwiseWeight.name() + "' must be [out, "
                    + depthwise.channels() + ", 1, 1], got " + pointwiseWeight);
        }
        this.pointwise = new Conv2d(pointwiseWeight, pointwiseBias, 1, 0);
    }

    public int inChannels() { return depthwise.channels(); }
    public int outChannels() { return pointwise.outChannels(); }
    public int outSize(int in) { return depthwise.outSize(in); }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, Activation.NONE, null); }

    /** act(pointwise(depthwise(x))) + residual (residual may be null; same shape as the output). */
    public Tensor forward(Workspace ws, Tensor x, Activation act, Tensor residual) {
        Tensor mid = depthwise.forward(ws, x);
        try {
            return pointwise.forward(ws, mid, act, residual);
        } finally {
            ws.release(mid);
        }
    }
}
