package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import jdk.incubator.vector.VectorSpecies;

/**
 * Pointwise activations over whole tensors, vectorised ({@link ActivationKernel}, functions and their error bounds in
 * {@link VectorMath}); {@link Activation#apply} is the scalar reference definition.
 */
public final class Activations {
    private Activations() {}

    /** The vector implementation, one per species. */
    interface Kernel {
        void apply(float[] src, float[] dst, int n, Activation act);

        void geglu(float[] x, float[] y, int rows, int d);

        void swiglu(float[] x, float[] y, int rows, int d);
    }

    private static final Kernel PREFERRED = new ActivationKernel();

    static Kernel kernel(VectorSpecies<Float> species) {
        return SpeciesVariants.instance(ActivationKernel.class, Kernel.class, species);
    }

    /** x ← act(x), in place. */
    public static Tensor applyInPlace(Tensor x, Activation act) {
        PREFERRED.apply(x.data(), x.data(), x.numel(), act);
        return x;
    }

    /** A new tensor act(x). */
    public static Tensor apply(Workspace ws, Tensor x, Activation act) {
        Tensor y = ws.take(x.shape());
        PREFERRED.apply(x.data(), y.data(), x.numel(), act);
        return y;
    }

    /**
     * GEGLU as diffusers computes it after the projection: x [..., 2d] is split into (hidden, gate) halves along the
     * last dimension and the result is hidden · GELU(gate), shape [..., d].
     */
    public static Tensor geglu(Workspace ws, Tensor x) {
        return geglu(ws, x, PREFERRED);
    }

    /** SwiGLU (Shazeer 2020): as {@link #geglu} with SiLU as the gate, hidden · silu(gate), shape [..., d]. */
    public static Tensor swiglu(Workspace ws, Tensor x) {
        return gated(ws, x, PREFERRED, true);
    }

    static Tensor swiglu(Workspace ws, Tensor x, Kernel kernel) {
        return gated(ws, x, kernel, true);
    }

    static Tensor geglu(Workspace ws, Tensor x, Kernel kernel) {
        return gated(ws, x, kernel, false);
    }

    private static Tensor gated(Workspace ws, Tensor x, Kernel kernel, boolean silu) {
        int two = x.dim(-1);
        if (two % 2 != 0) throw new IllegalArgumentException((silu ? "swiglu" : "geglu") + ": last dimension of " + x + " is odd");
        int d = two / 2, rows = two == 0 ? 0 : x.numel() / two;
        int[] shape = x.shape();
        shape[shape.length - 1] = d;
        Tensor y = ws.take(shape);
        if (rows > 0 && d > 0) {
            if (silu) kernel.swiglu(x.data(), y.data(), rows, d);
            else kernel.geglu(x.data(), y.data(), rows, d);
        }
        return y;
    }
}
