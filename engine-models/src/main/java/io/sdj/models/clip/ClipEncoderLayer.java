package io.sdj.models.clip;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Activation;
import io.sdj.ops.Attention;
import io.sdj.ops.LayerNorm;
import io.sdj.ops.Linear;

/**
 * One pre-LayerNorm CLIP transformer layer (transformers {@code CLIPEncoderLayer}):
 * x + out_proj(causal self-attention(layer_norm1(x))), then + fc2(act(fc1(layer_norm2(·)))).
 */
final class ClipEncoderLayer {
    private final LayerNorm norm1, norm2;
    private final Linear q, k, v, out, fc1, fc2;
    private final int heads;
    private final Activation act;

    ClipEncoderLayer(ClipTextConfig c, WeightSource w) {
        int h = c.hiddenSize();
        norm1 = new LayerNorm(w.get("layer_norm1.weight").requireShape(h), w.get("layer_norm1.bias"), c.layerNormEps());
        norm2 = new LayerNorm(w.get("layer_norm2.weight").requireShape(h), w.get("layer_norm2.bias"), c.layerNormEps());
        q = linear(w, "self_attn.q_proj", h, h);
        k = linear(w, "self_attn.k_proj", h, h);
        v = linear(w, "self_attn.v_proj", h, h);
        out = linear(w, "self_attn.out_proj", h, h);
        fc1 = linear(w, "mlp.fc1", c.intermediateSize(), h);
        fc2 = linear(w, "mlp.fc2", h, c.intermediateSize());
        heads = c.numAttentionHeads();
        act = c.hiddenAct();
    }

    private static Linear linear(WeightSource w, String name, int outF, int inF) {
        return new Linear(w.get(name + ".weight").requireShape(outF, inF), w.get(name + ".bias").requireShape(outF));
    }

    /** A new tensor with the layer's output; {@code x} is left untouched. */
    Tensor forward(Workspace ws, Tensor x) {
        Tensor n1 = norm1.forward(ws, x);
        Tensor qt = q.forward(ws, n1), kt = k.forward(ws, n1), vt = v.forward(ws, n1);
        ws.release(n1);
        Tensor att = Attention.forward(ws, qt, kt, vt, heads, Attention.Kind.SOFTMAX, true);
        ws.release(qt, kt, vt);
        Tensor h = out.forward(ws, att, Activation.NONE, x);
        ws.release(att);
        Tensor n2 = norm2.forward(ws, h);
        Tensor mid = fc1.forward(ws, n2, act, null);
        ws.release(n2);
        Tensor y = fc2.forward(ws, mid, Activation.NONE, h);
        ws.release(mid, h);
        return y;
    }
}
