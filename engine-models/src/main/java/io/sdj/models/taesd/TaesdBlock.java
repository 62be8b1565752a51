package io.sdj.models.taesd;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Activation;
import io.sdj.ops.Activations;
import io.sdj.ops.Conv2d;

/**
 * TAESD's residual {@code Block(n_in, n_out)}: y = ReLU(conv.4(ReLU(conv.2(ReLU(conv.0(x))))) + skip(x)), 3×3
 * convolutions with bias; skip is the identity, or a 1×1 convolution without bias ({@code skip.weight}) when the
 * channel count changes.
 */
final class TaesdBlock {
    private final Conv2d c0, c2, c4, skip;
    private final int in, out;

    TaesdBlock(WeightSource w, int in, int out) {
        this.in = in;
        this.out = out;
        c0 = new Conv2d(w.get("conv.0.weight").requireShape(out, in, 3, 3), w.get("conv.0.bias"), 1, 1);
        c2 = new Conv2d(w.get("conv.2.weight").requireShape(out, out, 3, 3), w.get("conv.2.bias"), 1, 1);
        c4 = new Conv2d(w.get("conv.4.weight").requireShape(out, out, 3, 3), w.get("conv.4.bias"), 1, 1);
        skip = in == out ? null : new Conv2d(w.get("skip.weight").requireShape(out, in, 1, 1), null, 1, 0);
    }

    long flops(int n, int h, int w) {
        long hw = (long) n * h * w;
        return 2 * hw * 9 * ((long) in * out + 2L * out * out) + (skip == null ? 0 : 2 * hw * in * out);
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x) {
        Tensor a = c0.forward(ws, x, Activation.RELU, null);
        Tensor b = c2.forward(ws, a, Activation.RELU, null);
        ws.release(a);
        Tensor s = skip == null ? x : skip.forward(ws, x);
        Tensor y = Activations.applyInPlace(c4.forward(ws, b, s), Activation.RELU);
        ws.release(b);
        if (s != x) ws.release(s);
        return y;
    }
}
