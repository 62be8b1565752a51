package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import jdk.incubator.vector.VectorSpecies;

/** Elementwise arithmetic and data movement, vectorised / blocked in {@link ElementwiseKernel}. */
public final class Elementwise {
    private Elementwise() {}

    /** a ← a + b (same shapes). */
    public static Tensor addInPlace(Tensor a, Tensor b) {
        Tensor.requireSameShape("add", a, b);
        PREFERRED.add(a.data(), b.data(), a.data(), a.numel());
        return a;
    }

    /** A new tensor a + b (same shapes). */
    public static Tensor add(Workspace ws, Tensor a, Tensor b) {
        Tensor.requireSameShape("add", a, b);
        Tensor y = ws.take(a.shape());
        PREFERRED.add(a.data(), b.data(), y.data(), a.numel());
        return y;
    }

    /** a ← a ⊙ b (same shapes). */
    public static Tensor mulInPlace(Tensor a, Tensor b) {
        Tensor.requireSameShape("mul", a, b);
        PREFERRED.mul(a.data(), b.data(), a.data(), a.numel());
        return a;
    }

    /** a ← a · s. */
    public static Tensor scaleInPlace(Tensor a, float s) {
        PREFERRED.scale(a.data(), s, a.numel());
        return a;
    }

    /** x[n, c, :, :] ← x[n, c, :, :] + bias[n, c] (per-channel broadcast, e.g. the time embedding in a resnet). */
    public static Tensor addChannelBiasInPlace(Tensor x, Tensor bias) {
        x.requireRank("channel bias", 4);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        if (bias.numel() != n * c) throw new IllegalArgumentException("channel bias: " + bias + " does not match " + x);
        PREFERRED.channelBias(x.data(), bias.data(), n * c, hw);
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
     * src = min(floor(dst · scale), in − 1), scale = in / out computed in float as PyTorch does; outH = 2·H, outW = 2·W
     * is the usual 2× upsample (src = dst / 2, a fast path).
     */
    public static Tensor upsampleNearest(Workspace ws, Tensor x, int outH, int outW) {
        return upsampleNearest(ws, x, outH, outW, PREFERRED);
    }

    static Tensor upsampleNearest(Workspace ws, Tensor x, int outH, int outW, Kernel k) {
        x.requireRank("upsample", 4);
        if (outH < 1 || outW < 1) throw new IllegalArgumentException("upsample: output size " + outH + "×" + outW + " of " + x + " must be positive");
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        if (h < 1 || w < 1) throw new IllegalArgumentException("upsample: empty input " + x);
        Tensor y = ws.take(n, c, outH, outW);
        k.upsampleNearest(x.data(), y.data(), n * c, h, w, outH, outW);
        return y;
    }

    /** x[:, :, y0:y0+h, x0:x0+w] of NCHW x, copied into a tensor from {@code ws} (the tiles of a tiled decode). */
    public static Tensor window(Workspace ws, Tensor x, int y0, int x0, int h, int w) {
        x.requireRank("window", 4);
        int planes = x.dim(0) * x.dim(1), xh = x.dim(2), xw = x.dim(3);
        if (y0 < 0 || x0 < 0 || h < 1 || w < 1 || y0 + h > xh || x0 + w > xw) {
            throw new IllegalArgumentException("window: rows " + y0 + "+" + h + ", columns " + x0 + "+" + w + " are not inside " + x);
        }
        Tensor t = ws.take(x.dim(0), x.dim(1), h, w);
        float[] src = x.data(), dst = t.data();
        for (int p = 0; p < planes; p++) {
            for (int y = 0; y < h; y++) System.arraycopy(src, (p * xh + y0 + y) * xw + x0, dst, (p * h + y) * w, w);
        }
        return t;
    }

    /** Softmax over the last dimension, in place. */
    public static Tensor softmaxLastDimInPlace(Tensor x) {
        return softmaxLastDimInPlace(x, PREFERRED);
    }

    static Tensor softmaxLastDimInPlace(Tensor x, Kernel k) {
        int d = x.dim(-1);
        if (d > 0) k.softmaxRows(x.data(), x.numel() / d, d);
        return x;
    }

    /** NCHW [N, C, H, W] → token-major [N, H·W, C]. */
    public static Tensor toTokens(Workspace ws, Tensor x) {
        return toTokens(ws, x, PREFERRED);
    }

    static Tensor toTokens(Workspace ws, Tensor x, Kernel k) {
        x.requireRank("to tokens", 4);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        Tensor y = ws.take(n, hw, c);
        k.transpose(x.data(), null, y.data(), n, c, hw);
        return y;
    }

    /** Token-major [N, H·W, C] → NCHW [N, C, H, W]. */
    public static Tensor fromTokens(Workspace ws, Tensor t, int h, int w) {
        return fromTokens(ws, t, h, w, PREFERRED);
    }

    static Tensor fromTokens(Workspace ws, Tensor t, int h, int w, Kernel k) {
        return fromTokensPlus(ws, t, null, h, w, k);
    }

    /**
     * Token-major [N, H·W, C] → NCHW, plus a residual [N, C, H, W]: {@code y = fromTokens(t) + residual} in the
     * transpose's one pass (a transformer's {@code x + proj_out(…)}), instead of a second read and write of y.
     */
    public static Tensor fromTokensPlus(Workspace ws, Tensor t, Tensor residual, int h, int w) {
        return fromTokensPlus(ws, t, java.util.Objects.requireNonNull(residual, "from tokens plus residual: residual"), h, w, PREFERRED);
    }

    /** As {@link #fromTokensPlus}; without a residual ({@code null}) {@link #fromTokens}. */
    static Tensor fromTokensPlus(Workspace ws, Tensor t, Tensor residual, int h, int w, Kernel k) {
        t.requireRank("from tokens", 3);
        int n = t.dim(0), hw = t.dim(1), c = t.dim(2);
        if (hw != h * w) throw new IllegalArgumentException("from tokens: " + t + " does not hold " + h + "×" + w + " tokens");
        if (residual != null && (residual.rank() != 4 || residual.dim(0) != n || residual.dim(1) != c || residual.dim(2) != h || residual.dim(3) != w)) {
            throw new IllegalArgumentException("from tokens plus residual: residual " + residual + " must be [" + n + ", " + c + ", " + h + ", " + w + "]");
        }
        Tensor y = ws.take(n, c, h, w);
        k.transpose(t.data(), residual == null ? null : residual.data(), y.data(), n, hw, c);
        return y;
    }

    /** The vector implementation, one per species ({@link ElementwiseKernel}). */
    interface Kernel {
        void add(float[] a, float[] b, float[] y, int n);

        void mul(float[] a, float[] b, float[] y, int n);

        void scale(float[] a, float s, int n);

        void channelBias(float[] x, float[] bias, int planes, int hw);

        void softmaxRows(float[] x, int rows, int d);

        /**
         * src [batch][rows][cols] → dst [batch][cols][rows], plus {@code add} (laid out as dst) in the same pass unless
         * it is null: {@code dst[b][c][r] = src[b][r][c] (+ add[b][c][r])}.
         */
        void transpose(float[] src, float[] add, float[] dst, int batch, int rows, int cols);

        void upsampleNearest(float[] x, float[] y, int planes, int h, int w, int outH, int outW);
    }

    private static final Kernel PREFERRED = new ElementwiseKernel();

    static Kernel kernel(VectorSpecies<Float> species) {
        return SpeciesVariants.instance(ElementwiseKernel.class, Kernel.class, species);
    }
}
