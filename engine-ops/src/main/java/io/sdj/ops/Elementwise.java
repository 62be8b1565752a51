package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

/** Elementwise arithmetic and data movement. */
public final class Elementwise {
    private Elementwise() {}

    /** a ← a + b (same shapes). */
    public static Tensor addInPlace(Tensor a, Tensor b) {
        Tensor.requireSameShape("add", a, b);
        float[] ad = a.data(), bd = b.data();
        for (int i = 0, n = a.numel(); i < n; i++) ad[i] += bd[i];
        return a;
    }

    /** A new tensor a + b (same shapes). */
    public static Tensor add(Workspace ws, Tensor a, Tensor b) {
        Tensor.requireSameShape("add", a, b);
        Tensor y = ws.take(a.shape());
        float[] ad = a.data(), bd = b.data(), yd = y.data();
        for (int i = 0, n = a.numel(); i < n; i++) yd[i] = ad[i] + bd[i];
        return y;
    }

    /** a ← a ⊙ b (same shapes). */
    public static Tensor mulInPlace(Tensor a, Tensor b) {
        Tensor.requireSameShape("mul", a, b);
        float[] ad = a.data(), bd = b.data();
        for (int i = 0, n = a.numel(); i < n; i++) ad[i] *= bd[i];
        return a;
    }

    /** a ← a · s. */
    public static Tensor scaleInPlace(Tensor a, float s) {
        float[] ad = a.data();
        for (int i = 0, n = a.numel(); i < n; i++) ad[i] *= s;
        return a;
    }

    /** x[n, c, :, :] ← x[n, c, :, :] + bias[n, c] (per-channel broadcast, e.g. the time embedding in a resnet). */
    public static Tensor addChannelBiasInPlace(Tensor x, Tensor bias) {
        x.requireRank("channel bias", 4);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        if (bias.numel() != n * c) throw new IllegalArgumentException("channel bias: " + bias + " does not match " + x);
        float[] xd = x.data(), bd = bias.data();
        for (int i = 0; i < n * c; i++) {
            float v = bd[i];
            for (int j = i * hw, e = j + hw; j < e; j++) xd[j] += v;
        }
        return x;
    }

    /** Concatenates NCHW tensors along channels: [N, Ca, H, W] ++ [N, Cb, H, W] → [N, Ca+Cb, H, W]. */
    public static Tensor concatChannels(Workspace ws, Tensor a, Tensor b) {
        a.requireRank("concat", 4);
        b.requireRank("concat", 4);
        if (a.dim(0) != b.dim(0) || a.dim(2) != b.dim(2) || a.dim(3) != b.dim(3)) {
            throw new IllegalArgumentException("concat: shapes differ outside channels: " + a + " vs " + b);
        }
        int n = a.dim(0), ca = a.dim(1), cb = b.dim(1), hw = a.dim(2) * a.dim(3);
        Tensor y = ws.take(n, ca + cb, a.dim(2), a.dim(3));
        for (int i = 0; i < n; i++) {
            System.arraycopy(a.data(), i * ca * hw, y.data(), i * (ca + cb) * hw, ca * hw);
            System.arraycopy(b.data(), i * cb * hw, y.data(), (i * (ca + cb) + ca) * hw, cb * hw);
        }
        return y;
    }

    /**
     * Nearest-neighbour resize of NCHW to (outH, outW) with PyTorch's {@code mode="nearest"} index rule
     * src = floor(dst · in / out); outH = 2·H, outW = 2·W is the usual 2× upsample.
     */
    public static Tensor upsampleNearest(Workspace ws, Tensor x, int outH, int outW) {
        x.requireRank("upsample", 4);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor y = ws.take(n, c, outH, outW);
        float[] xd = x.data(), yd = y.data();
        for (int p = 0; p < n * c; p++) {
            for (int oy = 0; oy < outH; oy++) {
                int iy = (int) Math.min(h - 1, (long) Math.floor(oy * ((double) h / outH)));
                for (int ox = 0; ox < outW; ox++) {
                    int ix = (int) Math.min(w - 1, (long) Math.floor(ox * ((double) w / outW)));
                    yd[(p * outH + oy) * outW + ox] = xd[(p * h + iy) * w + ix];
                }
            }
        }
        return y;
    }

    /** Softmax over the last dimension, in place. */
    public static Tensor softmaxLastDimInPlace(Tensor x) {
        int d = x.dim(-1), rows = x.numel() / d;
        float[] xd = x.data();
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < d; i++) max = Math.max(max, xd[o + i]);
            float sum = 0;
            for (int i = 0; i < d; i++) { xd[o + i] = (float) Math.exp(xd[o + i] - max); sum += xd[o + i]; }
            for (int i = 0; i < d; i++) xd[o + i] /= sum;
        }
        return x;
    }

    /** NCHW [N, C, H, W] → token-major [N, H·W, C]. */
    public static Tensor toTokens(Workspace ws, Tensor x) {
        x.requireRank("to tokens", 4);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        Tensor y = ws.take(n, hw, c);
        float[] xd = x.data(), yd = y.data();
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) yd[(b * hw + p) * c + ch] = xd[(b * c + ch) * hw + p];
        return y;
    }

    /** Token-major [N, H·W, C] → NCHW [N, C, H, W]. */
    public static Tensor fromTokens(Workspace ws, Tensor t, int h, int w) {
        t.requireRank("from tokens", 3);
        int n = t.dim(0), hw = t.dim(1), c = t.dim(2);
        if (hw != h * w) throw new IllegalArgumentException("from tokens: " + t + " does not hold " + h + "×" + w + " tokens");
        Tensor y = ws.take(n, c, h, w);
        float[] td = t.data(), yd = y.data();
        for (int b = 0; b < n; b++)
            for (int p = 0; p < hw; p++)
                for (int ch = 0; ch < c; ch++) yd[(b * c + ch) * hw + p] = td[(b * hw + p) * c + ch];
        return y;
    }
}
