package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

/** Pointwise activations over whole tensors. */
public final class Activations {
    private Activations() {}

    /** x ← act(x), in place. */
    public static Tensor applyInPlace(Tensor x, Activation act) {
        float[] d = x.data();
        int n = x.numel();
        for (int i = 0; i < n; i++) d[i] = act.apply(d[i]);
        return x;
    }

    /** A new tensor act(x). */
    public static Tensor apply(Workspace ws, Tensor x, Activation act) {
        Tensor y = ws.take(x.shape());
        System.arraycopy(x.data(), 0, y.data(), 0, x.numel());
        return applyInPlace(y, act);
    }

    /**
     * GEGLU as diffusers computes it after the projection: x [..., 2d] is split into (hidden, gate) halves along the
     * last dimension and the result is hidden · GELU(gate), shape [..., d].
     */
    public static Tensor geglu(Workspace ws, Tensor x) {
        int two = x.dim(-1);
        if (two % 2 != 0) throw new IllegalArgumentException("geglu: last dimension of " + x + " is odd");
        int d = two / 2, rows = x.numel() / two;
        int[] shape = x.shape();
        shape[shape.length - 1] = d;
        Tensor y = ws.take(shape);
        float[] xd = x.data(), yd = y.data();
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < d; i++) yd[r * d + i] = xd[r * two + i] * Activation.GELU.apply(xd[r * two + d + i]);
        }
        return y;
    }
}
