package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;

/** diffusers {@code UNetMidBlock2D} of the VAE: resnets.0 → attentions.0 (optional) → resnets.1, channels unchanged. */
final class MidBlock {
    private final ResnetBlock first, second;
    private final SelfAttention attention;

    MidBlock(WeightSource w, int channels, int groups, boolean addAttention) {
        this.first = new ResnetBlock(w.at("resnets.0"), channels, channels, groups);
        this.attention = addAttention ? new SelfAttention(w.at("attentions.0"), channels, groups) : null;
        this.second = new ResnetBlock(w.at("resnets.1"), channels, channels, groups);
    }

    long flops(int n, int h, int w) {
        return first.flops(n, h, w) + second.flops(n, h, w) + (attention == null ? 0 : attention.flops(n, h, w));
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x) {
        Tensor h = first.forward(ws, x);
        if (attention != null) {
            Tensor a = attention.forward(ws, h);
            ws.release(h);
            h = a;
        }
        Tensor y = second.forward(ws, h);
        ws.release(h);
        return y;
    }
}
