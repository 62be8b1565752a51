package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ModelWeights;
import io.sdj.ops.LayerNorm;

/**
 * diffusers {@code BasicTransformerBlock} (norm_type "layer_norm", only_cross_attention false):
 * <pre>
 *   h = h + attn1(norm1(h))                   self-attention (absent, with norm1, when the level has none)
 *   h = h + attn2(norm2(h), context)          cross-attention to the text embedding
 *   h = h + ff(norm3(h))                      gated feed-forward, inner = ff_mult·dim (4: diffusers)
 * </pre>
 */
final class BasicTransformerBlock {
    private static final float LAYER_NORM_EPS = 1e-5f;

    private final LayerNorm norm1, norm2, norm3;   // norm1 null without self-attention
    private final CrossAttention attn1, attn2;     // attn1 null without self-attention
    private final FeedForward ff;

    BasicTransformerBlock(WeightSource w, int dim, int heads, int headDim, int contextDim, TransformerOptions o) {
        if (o.selfAttention()) {
            this.norm1 = new LayerNorm(ModelWeights.tensor(w, "norm1.weight", dim), ModelWeights.tensor(w, "norm1.bias", dim), LAYER_NORM_EPS);
            this.attn1 = new CrossAttention(w.at("attn1"), dim, dim, heads, headDim, o.reluAttention(), o.sharedKv());
        } else {
            this.norm1 = null;
            this.attn1 = null;
        }
        this.norm2 = new LayerNorm(ModelWeights.tensor(w, "norm2.weight", dim), ModelWeights.tensor(w, "norm2.bias", dim), LAYER_NORM_EPS);
        this.attn2 = new CrossAttention(w.at("attn2"), dim, contextDim, heads, headDim, o.reluAttention(), o.sharedKv());
        this.norm3 = new LayerNorm(ModelWeights.tensor(w, "norm3.weight", dim), ModelWeights.tensor(w, "norm3.bias", dim), LAYER_NORM_EPS);
        this.ff = new FeedForward(w.at("ff"), dim, o.ffMult() * dim, o.swiglu());
    }

    /** @param h tokens [B, T, dim] (not released); returns a new tensor. */
    Tensor forward(Workspace ws, Tensor h, Tensor context) {
        Tensor h1 = h;
        if (attn1 != null) {
            Tensor n1 = norm1.forward(ws, h);
            h1 = attn1.forward(ws, n1, n1, h);
            ws.release(n1);
        }
        Tensor n2 = norm2.forward(ws, h1);
        Tensor h2 = attn2.forward(ws, n2, context, h1);
        ws.release(n2);
        if (h1 != h) ws.release(h1);
        Tensor n3 = norm3.forward(ws, h2);
        Tensor h3 = ff.forward(ws, n3, h2);
        ws.release(n3, h2);
        return h3;
    }
}
