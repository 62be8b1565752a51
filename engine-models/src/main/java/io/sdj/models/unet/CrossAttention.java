package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ModelWeights;
import io.sdj.ops.Activation;
import io.sdj.ops.Attention;
import io.sdj.ops.Linear;

/**
 * diffusers {@code Attention} as the UNet's transformer blocks use it: bias-free to_q / to_k / to_v, softmax attention
 * with scale 1/√head_dim, then to_out.0 (with bias). Self-attention when the context is the input itself.
 * {@code upcast_attention} only changes precision under float16, so it is a no-op here (everything is float32).
 * Efficient variants: ReLU attention (weights relu(S)/Nk, MobileDiffusion) and a shared bias-free {@code to_kv}
 * projection replacing to_k and to_v (K = V, projected once).
 */
final class CrossAttention {
    private final Linear toQ, toK, toV, toKv, toOut;
    private final int heads;
    private final Attention.Kind kind;

    CrossAttention(WeightSource w, int queryDim, int contextDim, int heads, int headDim, boolean relu, boolean sharedKv) {
        int inner = heads * headDim;
        this.heads = heads;
        this.kind = relu ? Attention.Kind.RELU : Attention.Kind.SOFTMAX;
        this.toQ = new Linear(ModelWeights.tensor(w, "to_q.weight", inner, queryDim), null);
        if (sharedKv) {
            this.toKv = new Linear(ModelWeights.tensor(w, "to_kv.weight", inner, contextDim), null);
            this.toK = null;
            this.toV = null;
        } else {
            this.toKv = null;
            this.toK = new Linear(ModelWeights.tensor(w, "to_k.weight", inner, contextDim), null);
            this.toV = new Linear(ModelWeights.tensor(w, "to_v.weight", inner, contextDim), null);
        }
        this.toOut = new Linear(ModelWeights.tensor(w, "to_out.0.weight", queryDim, inner), ModelWeights.tensor(w, "to_out.0.bias", queryDim));
    }

    /** residual + to_out(attention(to_q(x), to_k(context), to_v(context))); x [B, T, query], context [B, S, context]. */
    Tensor forward(Workspace ws, Tensor x, Tensor context, Tensor residual) {
        Tensor q = toQ.forward(ws, x);
        Tensor a;
        if (toKv != null) {
            Tensor kv = toKv.forward(ws, context);
            a = Attention.forward(ws, q, kv, kv, heads, kind, false);
            ws.release(q, kv);
        } else {
            Tensor k = toK.forward(ws, context);
            Tensor v = toV.forward(ws, context);
            a = Attention.forward(ws, q, k, v, heads, kind, false);
            ws.release(q, k, v);
        }
        Tensor out = toOut.forward(ws, a, Activation.NONE, residual);
        ws.release(a);
        return out;
    }
}
