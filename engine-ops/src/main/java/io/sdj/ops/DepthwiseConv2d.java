package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

import static io.sdj.ops.GemmKernel.L;
import static io.sdj.ops.GemmKernel.S;

/**
 * Depthwise 2-D convolution over NCHW (PyTorch {@code nn.Conv2d} with groups = channels): each channel convolved with
 * its own k×k filter (weight [C, 1, k, k]), zero padding, bias and residual fused.
 * <p>Memory-bound: one pass over the input and one over the output. Each channel plane is first copied into a
 * zero-bordered per-thread buffer (L1/L2-resident; for stride s its columns are split into s phases), then every
 * output row is computed a vector of pixels at a time from shifted unit-stride loads. Work is split over planes.
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
        // Each channel plane is copied once into a zero-bordered buffer split into `stride` column phases (phase q holds
        // padded columns q, q+s, q+2s ...), so every tap is a plain unit-stride vector load with no edge cases:
        // padded column s·ox + kx is phase kx % s, index ox + kx / s. Rows are long enough for the last partial vector.
        int s = stride;
        int ph = h + 2 * padding;
        int pp = PackedMatrix.ceilDiv(ow, L) * L + (k - 1) / s + 1;   // floats per phase row
        int pw = s == 1 ? Math.max(pp, wd + 2 * padding) : pp;
        int rowLen = s * pw;
        Parallel.forRange(n * channels, (from, to) -> {
            float[] buf = Gemm.scratch(ph * rowLen);
            for (int plane = from; plane < to; plane++) {
                int c = plane % channels;
                java.util.Arrays.fill(buf, 0, padding * rowLen, 0f);
                for (int iy = 0; iy < h; iy++) {
                    int r = (iy + padding) * rowLen, xr = (plane * h + iy) * wd;
                    if (s == 1) {
                        java.util.Arrays.fill(buf, r, r + padding, 0f);
                        System.arraycopy(xd, xr, buf, r + padding, wd);
                        java.util.Arrays.fill(buf, r + padding + wd, r + pw, 0f);
                    } else {
                        for (int q = 0; q < s; q++) {
                            int dq = r + q * pw;
                            for (int j = 0, col = q - padding; j < pw; j++, col += s) {
                                buf[dq + j] = col >= 0 && col < wd ? xd[xr + col] : 0f;
                            }
                        }
                    }
                }
                java.util.Arrays.fill(buf, (h + padding) * rowLen, ph * rowLen, 0f);
                float b = bias == null ? 0f : bias[c];
                int wBase = c * k * k;
                if (k == 3 && s == 1) {
                    plane3x3(buf, pw, wBase, b, yd, rd, plane * oh * ow, oh, ow);
                    continue;
                }
                for (int oy = 0; oy < oh; oy++) {
                    int yo = (plane * oh + oy) * ow;
                    for (int ox = 0; ox < ow; ox += L) {
                        FloatVector acc = FloatVector.broadcast(S, b);
                        for (int ky = 0; ky < k; ky++) {
                            int src = (oy * s + ky) * rowLen + ox;
                            for (int kx = 0; kx < k; kx++) {
                                FloatVector xv = FloatVector.fromArray(S, buf, src + (kx % s) * pw + kx / s);
                                acc = xv.fma(FloatVector.broadcast(S, w[wBase + ky * k + kx]), acc);
                            }
                        }
                        if (ox + L <= ow) {
                            if (rd != null) acc = acc.add(FloatVector.fromArray(S, rd, yo + ox));
                            acc.intoArray(yd, yo + ox);
                        } else {
                            VectorMask<Float> m = S.indexInRange(ox, ow);
                            if (rd != null) acc = acc.add(FloatVector.fromArray(S, rd, yo + ox, m));
                            acc.intoArray(yd, yo + ox, m);
                        }
                    }
                }
            }
        });
        return y;
    }

    /** The common case, 3×3 stride 1, unrolled with the nine weights held in registers; same operation order. */
    private void plane3x3(float[] buf, int pw, int wBase, float b, float[] yd, float[] rd, int yPlane, int oh, int ow) {
        FloatVector w0 = FloatVector.broadcast(S, w[wBase]), w1 = FloatVector.broadcast(S, w[wBase + 1]), w2 = FloatVector.broadcast(S, w[wBase + 2]);
        FloatVector w3 = FloatVector.broadcast(S, w[wBase + 3]), w4 = FloatVector.broadcast(S, w[wBase + 4]), w5 = FloatVector.broadcast(S, w[wBase + 5]);
        FloatVector w6 = FloatVector.broadcast(S, w[wBase + 6]), w7 = FloatVector.broadcast(S, w[wBase + 7]), w8 = FloatVector.broadcast(S, w[wBase + 8]);
        FloatVector bv = FloatVector.broadcast(S, b);
        for (int oy = 0; oy < oh; oy++) {
            int yo = yPlane + oy * ow;
            int r0 = oy * pw, r1 = r0 + pw, r2 = r1 + pw;
            for (int ox = 0; ox < ow; ox += L) {
                FloatVector acc = FloatVector.fromArray(S, buf, r0 + ox).fma(w0, bv);
                acc = FloatVector.fromArray(S, buf, r0 + ox + 1).fma(w1, acc);
                acc = FloatVector.fromArray(S, buf, r0 + ox + 2).fma(w2, acc);
                acc = FloatVector.fromArray(S, buf, r1 + ox).fma(w3, acc);
                acc = FloatVector.fromArray(S, buf, r1 + ox + 1).fma(w4, acc);
                acc = FloatVector.fromArray(S, buf, r1 + ox + 2).fma(w5, acc);
                acc = FloatVector.fromArray(S, buf, r2 + ox).fma(w6, acc);
                acc = FloatVector.fromArray(S, buf, r2 + ox + 1).fma(w7, acc);
                acc = FloatVector.fromArray(S, buf, r2 + ox + 2).fma(w8, acc);
                if (ox + L <= ow) {
                    if (rd != null) acc = acc.add(FloatVector.fromArray(S, rd, yo + ox));
                    acc.intoArray(yd, yo + ox);
                } else {
                    VectorMask<Float> m = S.indexInRange(ox, ow);
                    if (rd != null) acc = acc.add(FloatVector.fromArray(S, rd, yo + ox, m));
                    acc.intoArray(yd, yo + ox, m);
                }
            }
        }
    }
}
