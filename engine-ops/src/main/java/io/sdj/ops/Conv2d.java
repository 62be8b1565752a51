package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

/** 2-D convolution over NCHW (PyTorch {@code nn.Conv2d}, groups = 1), square kernel, zero padding, bias fused. */
public final class Conv2d {
    private final String name;
    private final int cout, cin, k, stride, padding;
    private final float[] w;     // [cout, cin, k, k]
    private final float[] bias;  // [cout] or null

    public Conv2d(WeightTensor weight, WeightTensor bias, int stride, int padding) {
        if (weight.shape().length != 4 || weight.dim(2) != weight.dim(3)) {
            throw new IllegalArgumentException("conv weight '" + weight.name() + "' must be [out, in, k, k], got " + weight);
        }
        if (stride < 1 || padding < 0) throw new IllegalArgumentException("conv '" + weight.name() + "': bad stride " + stride + " / padding " + padding);
        this.name = weight.name();
        this.cout = weight.dim(0);
        this.cin = weight.dim(1);
        this.k = weight.dim(2);
        this.stride = stride;
        this.padding = padding;
        this.w = weight.toFloats();
        if (bias != null) bias.requireShape(cout);
        this.bias = bias == null ? null : bias.toFloats();
    }

    public int inChannels() { return cin; }
    public int outChannels() { return cout; }
    public int kernelSize() { return k; }

    public int outSize(int in) { return (in + 2 * padding - k) / stride + 1; }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, null); }

    /** conv(x) + b + residual (residual may be null; same shape as the output). */
    public Tensor forward(Workspace ws, Tensor x, Tensor residual) {
        x.requireRank("conv '" + name + "'", 4).requireDim("conv '" + name + "' input channels", 1, cin);
        int n = x.dim(0), h = x.dim(2), wd = x.dim(3);
        int oh = outSize(h), ow = outSize(wd);
        if (oh < 1 || ow < 1) throw new IllegalArgumentException("conv '" + name + "': input " + x + " too small for kernel " + k);
        Tensor y = ws.take(n, cout, oh, ow);
        if (residual != null) Tensor.requireSameShape("conv '" + name + "' residual", y, residual);
        float[] xd = x.data(), yd = y.data();
        float[] rd = residual == null ? null : residual.data();
        io.sdj.core.Parallel.forEach(n * cout, job -> {
            int b = job / cout, o = job % cout;
            int yBase = (b * cout + o) * oh * ow;
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    float s = bias == null ? 0f : bias[o];
                    for (int c = 0; c < cin; c++) {
                        int xBase = (b * cin + c) * h * wd, wBase = ((o * cin + c) * k) * k;
                        for (int ky = 0; ky < k; ky++) {
                            int iy = oy * stride - padding + ky;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < k; kx++) {
                                int ix = ox * stride - padding + kx;
                                if (ix < 0 || ix >= wd) continue;
                                s += xd[xBase + iy * wd + ix] * w[wBase + ky * k + kx];
                            }
                        }
                    }
                    int yi = yBase + oy * ow + ox;
                    yd[yi] = rd == null ? s : s + rd[yi];
                }
            }
        });
        return y;
    }
}
