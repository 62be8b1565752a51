package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Attention;
import io.sdj.ops.Elementwise;
import io.sdj.ops.GroupNorm;
import io.sdj.ops.Linear;

/**
 * The VAE mid-block spatial self-attention (diffusers {@code Attention} with {@code group_norm}, one head whose
 * dimension is the channel count, residual connection, output scale 1): every pixel is a token,
 * y = x + to_out(softmax(q·kᵀ/√C)·v) with q, k, v = Linear(GroupNorm(x)) over channels.
 * <p>Weight names: current diffusers {@code to_q, to_k, to_v, to_out.0}; checkpoints saved by diffusers before 0.14
 * ({@code query, key, value, proj_attn}) are accepted too, and 1×1-conv-shaped [C, C, 1, 1] projections are read as
 * [C, C].
 */
final class SelfAttention {
    private final GroupNorm norm;
    private final Linear q, k, v, out;
    private final int channels;

    SelfAttention(WeightSource w, int channels, int groups) {
        this.channels = channels;
        this.norm = new GroupNorm(w.get("group_norm.weight").requireShape(channels), w.get("group_norm.bias"), groups, VaeConfig.NORM_EPS);
        this.q = projection(w, "to_q", "query");
        this.k = projection(w, "to_k", "key");
        this.v = projection(w, "to_v", "value");
        this.out = projection(w, "to_out.0", "proj_attn");
    }

    private Linear projection(WeightSource w, String name, String legacy) {
        String base = w.contains(name + ".weight") || !w.contains(legacy + ".weight") ? name : legacy;
        WeightTensor weight = w.get(base + ".weight");
        if (weight.shape().length == 4 && weight.dim(2) == 1 && weight.dim(3) == 1) {
            weight = new WeightTensor(weight.name(), weight.dtype(), new int[] {weight.dim(0), weight.dim(1)}, weight.data(), weight.scales());
        }
        weight.requireShape(channels, channels);
        return new Linear(weight, w.optional(base + ".bias"));
    }

    long flops(int n, int h, int w) {
        long t = (long) h * w;
        return n * (2 * t * 4L * channels * channels + 2 * 2 * t * t * channels);
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x) {
        int h = x.dim(2), w = x.dim(3);
        Tensor normed = norm.forward(ws, x, false);
        Tensor tokens = Elementwise.toTokens(ws, normed);
        ws.release(normed);
        Tensor qt = q.forward(ws, tokens), kt = k.forward(ws, tokens), vt = v.forward(ws, tokens);
        ws.release(tokens);
        Tensor a = Attention.forward(ws, qt, kt, vt, 1, Attention.Kind.SOFTMAX, false);
        ws.release(qt, kt, vt);
        Tensor o = out.forward(ws, a);
        ws.release(a);
        Tensor y = Elementwise.fromTokensPlus(ws, o, x, h, w);   // the residual added in the transpose back
        ws.release(o);
        return y;
    }
}
