package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Conv2d;
import io.sdj.ops.Elementwise;
import io.sdj.ops.GroupNorm;
import io.sdj.ops.Linear;

/**
 * diffusers {@code ResnetBlock2D} (time_embedding_norm "default", SiLU):
 * <pre>
 *   h = conv1(SiLU(norm1(x)))
 *   h = h + time_emb_proj(SiLU(temb))[:, :, None, None]
 *   h = conv2(SiLU(norm2(h)))                       (dropout: identity at inference)
 *   out = (shortcut(x) + h) / output_scale_factor    shortcut = conv_shortcut (1×1) when channels change
 * </pre>
 */
final class ResnetBlock2D {
    private final GroupNorm norm1, norm2;
    private final Conv2d conv1, conv2, convShortcut;
    private final Linear timeEmbProj;
    private final float outputScaleFactor;
    final int inChannels, outChannels;

    ResnetBlock2D(WeightSource w, int in, int out, int tembChannels, int groups, float eps, float outputScaleFactor) {
        this.inChannels = in;
        this.outChannels = out;
        this.norm1 = new GroupNorm(ModelWeights.tensor(w, "norm1.weight", in), ModelWeights.tensor(w, "norm1.bias", in), groups, eps);
        this.conv1 = new Conv2d(ModelWeights.tensor(w, "conv1.weight", out, in, 3, 3), ModelWeights.tensor(w, "conv1.bias", out), 1, 1);
        this.timeEmbProj = new Linear(ModelWeights.tensor(w, "time_emb_proj.weight", out, tembChannels), ModelWeights.tensor(w, "time_emb_proj.bias", out));
        this.norm2 = new GroupNorm(ModelWeights.tensor(w, "norm2.weight", out), ModelWeights.tensor(w, "norm2.bias", out), groups, eps);
        this.conv2 = new Conv2d(ModelWeights.tensor(w, "conv2.weight", out, out, 3, 3), ModelWeights.tensor(w, "conv2.bias", out), 1, 1);
        this.convShortcut = in == out ? null
                : new Conv2d(ModelWeights.tensor(w, "conv_shortcut.weight", out, in, 1, 1), ModelWeights.tensor(w, "conv_shortcut.bias", out), 1, 0);
        this.outputScaleFactor = outputScaleFactor;
    }

    /**
     * @param x       [B, in, H, W] (not released)
     * @param tembAct SiLU(time embedding), [B, temb] (the same for every resnet of the model, so computed once)
     * @return a new [B, out, H, W] tensor from {@code ws}
     */
    Tensor forward(Workspace ws, Tensor x, Tensor tembAct) {
        Tensor n1 = norm1.forward(ws, x, true);
        Tensor h = conv1.forward(ws, n1);
        ws.release(n1);
        Tensor t = timeEmbProj.forward(ws, tembAct);
        Elementwise.addChannelBiasInPlace(h, t);
        ws.release(t);
        Tensor n2 = norm2.forward(ws, h, true);
        ws.release(h);
        Tensor shortcut = convShortcut == null ? x : convShortcut.forward(ws, x);
        Tensor out = conv2.forward(ws, n2, shortcut);
        ws.release(n2);
        if (convShortcut != null) ws.release(shortcut);
        if (outputScaleFactor != 1f) Elementwise.scaleInPlace(out, 1f / outputScaleFactor);
        return out;
    }
}
