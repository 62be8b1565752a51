package io.sdj.models.taesd;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Activation;
import io.sdj.ops.Activations;
import io.sdj.ops.Conv2d;
import io.sdj.ops.GroupNorm;

/**
 * TAESD's residual {@code Block(n_in, n_out)}: y = ReLU(conv.4(ReLU(conv.2(ReLU(conv.0(x))))) + skip(x)), 3×3
 * convolutions with bias; skip is the identity, or a 1×1 convolution without bias ({@code skip.weight}) when the
 * channel count changes.
 * <p>Blocks of the newer releases (TAEF2; {@code use_midblock_gn}) that hold {@code pool.*} weights first add a pooled
 * branch: x = x + pool(x), pool = Conv1x1(C→4C, no bias) → GroupNorm(4 groups, eps 1e-5) → ReLU → Conv1x1(4C→C, no bias).
 */
final class TaesdBlock {
    private static final int POOL_GROUPS = 4;
    private static final float POOL_EPS = 1e-5f;
    private final Conv2d c0, c2, c4, skip;
    private final Conv2d poolIn, poolOut;
    private final GroupNorm poolNorm;
    private final int in, out, poolWidth;

    TaesdBlock(WeightSource w, int in, int out) {
        this.in = in;
        this.out = out;
        c0 = new Conv2d(w.get("conv.0.weight").requireShape(out, in, 3, 3), w.get("conv.0.bias"), 1, 1);
        c2 = new Conv2d(w.get("conv.2.weight").requireShape(out, out, 3, 3), w.get("conv.2.bias"), 1, 1);
        c4 = new Conv2d(w.get("conv.4.weight").requireShape(out, out, 3, 3), w.get("conv.4.bias"), 1, 1);
        skip = in == out ? null : new Conv2d(w.get("skip.weight").requireShape(out, in, 1, 1), null, 1, 0);
        if (w.contains("pool.0.weight")) {
            poolWidth = w.get("pool.0.weight").dim(0);
            poolIn = new Conv2d(w.get("pool.0.weight").requireShape(poolWidth, in, 1, 1), null, 1, 0);
            poolNorm = new GroupNorm(w.get("pool.1.weight").requireShape(poolWidth), w.get("pool.1.bias").requireShape(poolWidth), POOL_GROUPS, POOL_EPS);
            poolOut = new Conv2d(w.get("pool.3.weight").requireShape(in, poolWidth, 1, 1), null, 1, 0);
        } else {
            poolWidth = 0;
            poolIn = poolOut = null;
            poolNorm = null;
        }
    }

    boolean hasPool() { return poolIn != null; }

    long flops(int n, int h, int w) {
        long hw = (long) n * h * w;
        return 2 * hw * 9 * ((long) in * out + 2L * out * out) + (skip == null ? 0 : 2 * hw * in * out)
                + 2 * hw * 2L * in * poolWidth;
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x) {
        if (poolIn == null) return residual(ws, x);
        Tensor p = poolIn.forward(ws, x);
        Tensor n = poolNorm.forward(ws, p, false);
        ws.release(p);
        Activations.applyInPlace(n, Activation.RELU);
        Tensor pooled = poolOut.forward(ws, n, x);
        ws.release(n);
        Tensor y = residual(ws, pooled);
        ws.release(pooled);
        return y;
    }

    private Tensor residual(Workspace ws, Tensor x) {
        Tensor a = c0.forward(ws, x, Activation.RELU, null);
        Tensor b = c2.forward(ws, a, Activation.RELU, null);
        ws.release(a);
        Tensor s = skip == null ? x : skip.forward(ws, x);
        Tensor y = c4.forwardResidualThen(ws, b, s, Activation.RELU);   // ReLU after the skip add, in the conv's epilogue
        ws.release(b);
        if (s != x) ws.release(s);
        return y;
    }
}
