package io.sdj.models.blocks;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Conv2d;
import io.sdj.ops.Elementwise;
import io.sdj.ops.GroupNorm;
import io.sdj.ops.Linear;

/**
 * diffusers {@code ResnetBlock2D} (time_embedding_norm "default", SiLU), as the UNet and the VAE use it:
 * <pre>
 *   h = conv1(SiLU(norm1(x)))
 *   h = h + time_emb_proj(SiLU(temb))[:, :, None, None]   (UNet only; the VAE's blocks have no time embedding)
 *   h = conv2(SiLU(norm2(h)))                              (dropout: identity at inference)
 *   out = (shortcut(x) + h) / output_scale_factor           shortcut = conv_shortcut (1×1) when channels change
 * </pre>
 * Weights: {@code norm1, conv1, [time_emb_proj,] norm2, conv2[, conv_shortcut]}.
 */
public final class ResnetBlock2D {
    private final GroupNorm norm1, norm2;
    private final Conv3x3 conv1, conv2;
    private final Conv2d convShortcut;
    private final Linear timeEmbProj;
    private final float outputScaleFactor;
    private final int in, out;

    /**
     * @param tembChannels width of the time embedding, or 0 for a block without one (the VAE's)
     */
    public ResnetBlock2D(WeightSource w, int in, int out, int tembChannels, int groups, float eps, float outputScaleFactor) {
        this(w, in, out, tembChannels, groups, eps, outputScaleFactor, false);
    }

    /** @param separable conv1 and conv2 are depthwise-separable ({@link Conv3x3}; the 1×1 shortcut stays dense) */
    public ResnetBlock2D(WeightSource w, int in, int out, int tembChannels, int groups, float eps, float outputScaleFactor, boolean separable) {
        this.in = in;
        this.out = out;
        this.norm1 = new GroupNorm(ModelWeights.tensor(w, "norm1.weight", in), ModelWeights.tensor(w, "norm1.bias", in), groups, eps);
        this.conv1 = new Conv3x3(w, "conv1", in, out, 1, 1, separable);
        this.timeEmbProj = tembChannels == 0 ? null
                : new Linear(ModelWeights.tensor(w, "time_emb_proj.weight", out, tembChannels), ModelWeights.tensor(w, "time_emb_proj.bias", out));
        this.norm2 = new GroupNorm(ModelWeights.tensor(w, "norm2.weight", out), ModelWeights.tensor(w, "norm2.bias", out), groups, eps);
        this.conv2 = new Conv3x3(w, "conv2", out, out, 1, 1, separable);
        this.convShortcut = in == out ? null
                : new Conv2d(ModelWeights.tensor(w, "conv_shortcut.weight", out, in, 1, 1), ModelWeights.tensor(w, "conv_shortcut.bias", out), 1, 0);
        this.outputScaleFactor = outputScaleFactor;
    }

    public int inChannels() { return in; }
    public int outChannels() { return out; }

    /** Multiply-adds × 2 of the convolutions for an input of n × h × w pixels. */
    public long flops(int n, int h, int w) {
        long hw = (long) n * h * w;
        long f = conv1.isSeparable() ? 2 * hw * (9L * in + (long) in * out + 9L * out + (long) out * out)
                : 2 * hw * 9 * ((long) in * out + (long) out * out);
        if (convShortcut != null) f += 2 * hw * in * out;
        return f;
    }

    /**
     * @param x       [B, in, H, W] (not released)
     * @param tembAct SiLU(time embedding), [B, temb] (the same for every resnet of a UNet, so computed once); null for
     *                a block without a time embedding
     * @return a new [B, out, H, W] tensor from {@code ws}
     */
    public Tensor forward(Workspace ws, Tensor x, Tensor tembAct) {
        if ((tembAct == null) != (timeEmbProj == null)) {
            throw new IllegalArgumentException("resnet block: " + (timeEmbProj == null
                    ? "has no time embedding but was given one" : "needs the time embedding"));
        }
        Tensor n1 = norm1.forward(ws, x, true);
        Tensor h = conv1.forward(ws, n1);
        ws.release(n1);
        Tensor t = timeEmbProj == null ? null : timeEmbProj.forward(ws, tembAct);
        Tensor n2 = norm2.forward(ws, h, t, true); // SiLU(norm2(h + t[:, :, None, None])): the add inside the norm's passes
        ws.release(h);
        if (t != null) ws.release(t);
        Tensor shortcut = convShortcut == null ? x : convShortcut.forward(ws, x);
        Tensor y = conv2.forward(ws, n2, shortcut);
        ws.release(n2);
        if (convShortcut != null) ws.release(shortcut);
        if (outputScaleFactor != 1f) Elementwise.scaleInPlace(y, 1f / outputScaleFactor);
        return y;
    }
}
