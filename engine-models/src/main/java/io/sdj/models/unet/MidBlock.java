package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ResnetBlock2D;

/**
 * diffusers {@code UNetMidBlock2DCrossAttn} (one layer): h = resnets.0(x); h = attentions.0(h, context); h = resnets.1(h).
 * Its resnets use {@code mid_block_scale_factor} as their output scale factor. The Transformer2DModel has
 * {@code mid_block_transformer_layers} layers (default: diffusers' count), self-attention per
 * {@code mid_block_self_attention} (default: the last level's), and the last level's {@code conv_type}.
 */
final class MidBlock {
    private final ResnetBlock2D first, second;
    private final Transformer2DModel attention;

    MidBlock(WeightSource w, UNetConfig c, int tembChannels) {
        int last = c.numBlocks() - 1;
        int ch = c.blockOutChannels()[last];
        EfficientBlocks e = c.efficient();
        boolean separable = e.separable(last);
        this.first = new ResnetBlock2D(w.at("resnets.0"), ch, ch, tembChannels, c.normNumGroups(), c.normEps(), c.midBlockScaleFactor(), separable);
        this.attention = new Transformer2DModel(w.at("attentions.0"), ch, c.numAttentionHeads()[last], c.crossAttentionDim()[last],
                e.midBlockTransformerLayers(), c.normNumGroups(), c.useLinearProjection(), TransformerOptions.of(e, e.midBlockSelfAttention()));
        this.second = new ResnetBlock2D(w.at("resnets.1"), ch, ch, tembChannels, c.normNumGroups(), c.normEps(), c.midBlockScaleFactor(), separable);
    }

    /** @param x the last down block's output (a skip tensor, not released); returns a new tensor. */
    Tensor forward(Workspace ws, Tensor x, Tensor tembAct, Tensor context) {
        Tensor h = first.forward(ws, x, tembAct);
        Tensor a = attention.forward(ws, h, context);
        ws.release(h);
        Tensor out = second.forward(ws, a, tembAct);
        ws.release(a);
        return out;
    }
}
