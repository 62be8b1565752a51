package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.blocks.ModelWeights;
import io.sdj.ops.Elementwise;
import io.sdj.ops.GroupNorm;
import io.sdj.ops.Linear;

/**
 * diffusers {@code Transformer2DModel} over continuous NCHW input:
 * <pre>
 *   t = tokens(norm(x))            GroupNorm(norm_num_groups, eps 1e-6)
 *   t = proj_in(t)                 Linear, or a 1×1 Conv2d (use_linear_projection false) — the same map per pixel
 *   t = transformer_blocks[i](t, context)
 *   out = x + image(proj_out(t))
 * </pre>
 * A 1×1 convolution's [out, in, 1, 1] weight is applied as the [out, in] matrix of a Linear over tokens.
 */
final class Transformer2DModel {
    private static final float NORM_EPS = 1e-6f;

    private final GroupNorm norm;
    private final Linear projIn, projOut;
    private final BasicTransformerBlock[] blocks;

    Transformer2DModel(WeightSource w, int channels, int heads, int contextDim, int layers, int groups, boolean linearProjection,
                       TransformerOptions options) {
        int headDim = channels / heads, inner = heads * headDim;
        this.norm = new GroupNorm(ModelWeights.tensor(w, "norm.weight", channels), ModelWeights.tensor(w, "norm.bias", channels), groups, NORM_EPS);
        this.projIn = new Linear(projection(w, "proj_in.weight", inner, channels, linearProjection), ModelWeights.tensor(w, "proj_in.bias", inner));
        this.blocks = new BasicTransformerBlock[layers];
        for (int i = 0; i < layers; i++) blocks[i] = new BasicTransformerBlock(w.at("transformer_blocks." + i), inner, heads, headDim, contextDim, options);
        this.projOut = new Linear(projection(w, "proj_out.weight", channels, inner, linearProjection), ModelWeights.tensor(w, "proj_out.bias", channels));
    }

    private static WeightTensor projection(WeightSource w, String name, int out, int in, boolean linear) {
        return linear ? ModelWeights.tensor(w, name, out, in) : ModelWeights.conv1x1AsMatrix(ModelWeights.tensor(w, name, out, in, 1, 1));
    }

    /**
     * @param x     [B, C, H, W] (not released); context [B, S, contextDim]; returns a new [B, C, H, W]
     * @param trace marks {@code proj_in} (with the norm) and each layer's parts ({@code transformer_blocks.i.*})
     */
    Tensor forward(Workspace ws, Tensor x, Tensor context, Trace trace) {
        int h = x.dim(2), wd = x.dim(3);
        Tensor n = norm.forward(ws, x, false);
        Tensor tokens = Elementwise.toTokens(ws, n);
        ws.release(n);
        Tensor t = projIn.forward(ws, tokens);
        ws.release(tokens);
        trace.mark("proj_in", t);
        for (int i = 0; i < blocks.length; i++) {
            Tensor next = blocks[i].forward(ws, t, context, trace.at("transformer_blocks." + i));
            ws.release(t);
            t = next;
        }
        Tensor p = projOut.forward(ws, t);
        ws.release(t);
        Tensor out = Elementwise.fromTokensPlus(ws, p, x, h, wd);
        ws.release(p);
        return out;
    }
}
