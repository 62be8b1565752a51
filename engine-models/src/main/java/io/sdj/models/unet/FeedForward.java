package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ModelWeights;
import io.sdj.ops.Activation;
import io.sdj.ops.GatedLinear;
import io.sdj.ops.Linear;

/**
 * diffusers {@code FeedForward} with a gated activation: net.0.proj (dim → 2·inner), hidden · act(gate) with the first
 * half the value and the second the gate, net.2 (inner → dim). GEGLU (act = exact GELU, diffusers' default) or
 * SwiGLU (act = SiLU, MobileDiffusion). The gate is applied inside the projection's GEMM ({@link GatedLinear}).
 */
final class FeedForward {
    private final GatedLinear proj;
    private final Linear out;

    FeedForward(WeightSource w, int dim, int inner, boolean swiglu) {
        this.proj = new GatedLinear(ModelWeights.tensor(w, "net.0.proj.weight", 2 * inner, dim), ModelWeights.tensor(w, "net.0.proj.bias", 2 * inner),
                swiglu ? Activation.SILU : Activation.GELU);
        this.out = new Linear(ModelWeights.tensor(w, "net.2.weight", dim, inner), ModelWeights.tensor(w, "net.2.bias", dim));
    }

    /** residual + ff(x). */
    Tensor forward(Workspace ws, Tensor x, Tensor residual) {
        Tensor g = proj.forward(ws, x);
        Tensor y = out.forward(ws, g, Activation.NONE, residual);
        ws.release(g);
        return y;
    }
}
