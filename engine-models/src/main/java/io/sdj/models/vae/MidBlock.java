package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ResnetBlock2D;

/** diffusers {@code UNetMidBlock2D} of the VAE: resnets.0 → attentions.0 (optional) → resnets.1, channels unchanged. */
final class MidBlock {
    private final ResnetBlock2D first, second;
    private final SelfAttention attention;

    MidBlock(WeightSource w, int channels, int groups, boolean addAttention) {
        this.first = new ResnetBlock2D(w.at("resnets.0"), channels, channels, 0, groups, VaeConfig.NORM_EPS, 1f);
        this.attention = addAttention ? new SelfAttention(w.at("attentions.0"), channels, groups) : null;
        this.second = new ResnetBlock2D(w.at("resnets.1"), channels, channels, 0, groups, VaeConfig.NORM_EPS, 1f);
    }

    long flops(int n, int h, int w) {
        return first.flops(n, h, w) + second.flops(n, h, w) + (attention == null ? 0 : attention.flops(n, h, w));
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x) {
        Tensor h = first.forward(ws, x, null);
        if (attention != null) {
            Tensor a = attention.forward(ws, h);
            ws.release(h);
            h = a;
        }
        Tensor y = second.forward(ws, h, null);
        ws.release(h);
        return y;
    }
}
