package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import jdk.incubator.vector.FloatVector;

import static io.sdj.ops.GemmKernel.L;
import static io.sdj.ops.GemmKernel.S;

/**
 * Depthwise 2-D convolution over NCHW (PyTorch {@code nn.Conv2d} with groups = channels): each channel convolved with
 * its own k×k filter (weight [C, 1, k, k]), zero padding, bias and residual fused.
 * <p>Memory-bound: one pass over the input and one over the output. For stride 1 the interior of every output row is
 * computed a vector of pixels at a time from unaligned shifted loads; the padded edges and stride 2 are scalar.
 * Work is split over output rows, each computed the same way on any thread.
 */
public final class DepthwiseConv2d {
    private final String name;
    private final int channels, k, stride, padding;
    private final float[] w;     // [C, k, k], widened
    private final float[] bias;  // [C] or null

    public DepthwiseConv2d(WeightTensor weight, WeightTensor bias, int stride, int padding) {
        if (weight.shape().length != 4 || weight.dim(1) != 1 || weight.dim(2) != weight.dim(3) || weight.dim(0) < 1) {
            throw new IllegalArgumentException("depthwise conv weight '" + weight.name() + "' must be [C, 1, k, k], got " + weight);
        }
        if (stride < 1 || padding < 0) throw new IllegalArgumentException("depthwise conv '" + weight.name() + "': bad stride " + stride + " / padding " + padding);
        this.name = weight.name();
        this.channels = weight.dim(0);
        this.k = weight.dim(2);
        this.stride = stride;
        this.padding = padding;
        this.w = weight.toFloats();
        if (bias != null) bias.requireShape(channels);
        this.bias = bias == null ? null : bias.toFloats();
    }

    public int channels() { return channels; }
    public int kernelSize() { return k; }
    public int stride() { return stride; }

    public int outSize(int in) { return (in + 2 * padding - k) / stride + 1; }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, null); }

    /** dwconv(x) + b + residual (residual may be null; same shape as the output). */
    public Tensor forward(Workspace ws, Tensor x, Tensor residual) {
        x.requireRank("depthwise conv '" + name + "'", 4).requireDim("depthwise conv '" + name + "' channels", 1, channels);
        int n = x.dim(0), h = x.dim(2), wd = x.dim(3);
        int oh = outSize(h), ow = outSize(wd);
        if (oh < 1 || ow < 1 || h + 2 * padding < k || wd + 2 * padding < k) {
            throw new IllegalArgumentException("depthwise conv '" + name + "': input " + x + " too small for kernel " + k);
        }
        Tensor y = ws.take(n, channels, oh, ow);
        if (residual != null) Tensor.requireSameShape("depthwise conv '" + name + "' residual", y, residual);
        float[] xd = x.data(), yd = y.data(), rd = residual == null ? null : residual.data();
        // output columns whose whole window lies inside the image
        int lo = Math.min(ow, (padding + stride - 1) / stride);
        int hi = Math.max(lo, Math.min(ow, Math.floorDiv(wd - k + padding, stride) + 1));
        Parallel.forRange(n * channels * oh, (from, to) -> {
            for (int row = from; row < to; row++) {
                int oy = row % oh, plane = row / oh, c = plane % channels;
                int xPlane = plane * h * wd, yo = row * ow;
                float b = bias == null ? 0f : bias[c];
                int wBase = c * k * k;
                int ox = 0;
                for (; ox < lo; ox++) yd[yo + ox] = pixel(xd, xPlane, h, wd, wBase, b, oy, ox);
                if (stride == 1) {
                    for (; ox + L <= hi; ox += L) {
                        FloatVector acc = FloatVector.broadcast(S, b);
                        for (int ky = 0; ky < k; ky++) {
                            int iy = oy - padding + ky;
                            if (iy < 0 || iy >= h) continue;
                            int src = xPlane + iy * wd + ox - padding;
                            for (int kx = 0; kx < k; kx++) {
                                acc = FloatVector.fromArray(S, xd, src + kx).fma(FloatVector.broadcast(S, w[wBase + ky * k + kx]), acc);
                            }
                        }
                        acc.intoArray(yd, yo + ox);
                    }
                }
                for (; ox < ow; ox++) yd[yo + ox] = pixel(xd, xPlane, h, wd, wBase, b, oy, ox);
                if (rd != null) {
                    int ox2 = 0;
                    for (; ox2 + L <= ow; ox2 += L) {
                        FloatVector.fromArray(S, yd, yo + ox2).add(FloatVector.fromArray(S, rd, yo + ox2)).intoArray(yd, yo + ox2);
                    }
                    for (; ox2 < ow; ox2++) yd[yo + ox2] += rd[yo + ox2];
                }
            }
        });
        return y;
    }

    /** One output pixel, same operation order as the vector path (bias, then ky, kx ascending, fused). */
    private float pixel(float[] xd, int xPlane, int h, int wd, int wBase, float b, int oy, int ox) {
        float acc = b;
        for (int ky = 0; ky < k; ky++) {
            int iy = oy * stride - padding + ky;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < k; kx++) {
                int ix = ox * stride - padding + kx;
                if (ix < 0 || ix >= wd) continue;
                acc = Math.fma(xd[xPlane + iy * wd + ix], w[wBase + ky * k + kx], acc);
            }
        }
        return acc;
    }
}
