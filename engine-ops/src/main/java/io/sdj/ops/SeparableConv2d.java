package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

/**
 * Depthwise-separable convolution (MobileDiffusion): a depthwise k×k convolution (padding k/2, stride 1 or 2)
 * followed by a pointwise 1×1 convolution to the output channels, each with its optional bias.
 * <p>By default the two convolutions run one after the other through a workspace buffer. With
 * {@code -Dsdj.separable.fused=true}, 3×3 at stride 1 (every resnet conv and upsampler conv of a separable UNet level)
 * runs fused instead: the pointwise GEMM takes its B tiles from {@link SeparableTiles}, which computes the depthwise
 * output of just that tile into the packed panels, so the depthwise activation is never written whole and read back.
 * Fused is not the default because it was not faster where measured: 1 thread, MobileDiffusion's shapes, back to back
 * on a heavily shared 2-vCPU host (load ≈ 17), 2026-12-06: 640@32×32 270 vs 235 ms, 1024@16×16 44 vs 30 ms (fused vs
 * two passes) — the depthwise kernel's column walk (3 loads per output vector) beats the tile's 9; the intermediate
 * (2.6 MB at 640@32×32) costs less than that. {@code EfficientBlocksBench} measures both.
 */
public final class SeparableConv2d {
    /** {@code -Dsdj.separable.fused=true}: depthwise computed inside the pointwise GEMM's tiles (see above). */
    static final boolean FUSED = Boolean.parseBoolean(System.getProperty("sdj.separable.fused", "false"));

    private final DepthwiseConv2d depthwise;
    private final Conv2d pointwise;
    private final PackedMatrix pw;       // pointwise weight [out, in] as row panels
    private final float[] dw, dwBias, pwBias;

    public SeparableConv2d(WeightTensor depthwiseWeight, WeightTensor depthwiseBias,
                           WeightTensor pointwiseWeight, WeightTensor pointwiseBias, int stride) {
        this(depthwiseWeight, depthwiseBias, pointwiseWeight, pointwiseBias, stride, FUSED);
    }

    /** As above, choosing the fused path (3×3, stride 1 only; otherwise two passes) explicitly. */
    SeparableConv2d(WeightTensor depthwiseWeight, WeightTensor depthwiseBias,
                    WeightTensor pointwiseWeight, WeightTensor pointwiseBias, int stride, boolean fused) {
        this.depthwise = new DepthwiseConv2d(depthwiseWeight, depthwiseBias, stride, depthwiseWeight.dim(-1) / 2);
        if (pointwiseWeight.shape().length != 4 || pointwiseWeight.dim(2) != 1 || pointwiseWeight.dim(3) != 1
                || pointwiseWeight.dim(1) != depthwise.channels()) {
            throw new IllegalArgumentException("pointwise weight '" + pointwiseWeight.name() + "' must be [out, "
                    + depthwise.channels() + ", 1, 1], got " + pointwiseWeight);
        }
        this.pointwise = new Conv2d(pointwiseWeight, pointwiseBias, 1, 0);
        boolean fusable = fused && stride == 1 && depthwise.kernelSize() == 3;
        this.pw = fusable ? PackedMatrix.rowPanels(pointwiseWeight) : null;
        this.dw = fusable ? depthwiseWeight.toFloats() : null;
        this.dwBias = fusable && depthwiseBias != null ? depthwiseBias.toFloats() : null;
        if (fusable && pointwiseBias != null) pointwiseBias.requireShape(pointwiseWeight.dim(0));
        this.pwBias = fusable && pointwiseBias != null ? pointwiseBias.toFloats() : null;
    }

    public int inChannels() { return depthwise.channels(); }
    public int outChannels() { return pointwise.outChannels(); }
    public int outSize(int in) { return depthwise.outSize(in); }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, Activation.NONE, null); }

    /** act(pointwise(depthwise(x))) + residual (residual may be null; same shape as the output). */
    public Tensor forward(Workspace ws, Tensor x, Activation act, Tensor residual) {
        if (pw == null) {
            Tensor mid = depthwise.forward(ws, x);
            try {
                return pointwise.forward(ws, mid, act, residual);
            } finally {
                ws.release(mid);
            }
        }
        int cin = inChannels(), cout = outChannels();
        x.requireRank("separable conv", 4).requireDim("separable conv input channels", 1, cin);
        int n = x.dim(0), h = x.dim(2), w = x.dim(3), hw = h * w;
        Tensor y = ws.take(n, cout, h, w);
        if (residual != null) Tensor.requireSameShape("separable conv residual", y, residual);
        float[] rd = residual == null ? null : residual.data();
        for (int b = 0; b < n; b++) {
            SeparableTiles tiles = new SeparableTiles(x.data(), b * cin * hw, h, w, dw, dwBias);
            Gemm.multiplyPacked(pw, hw, tiles, y.data(), b * cout * hw, hw, pwBias, act, rd);
        }
        return y;
    }
}
