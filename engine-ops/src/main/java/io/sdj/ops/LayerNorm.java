package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import jdk.incubator.vector.VectorSpecies;

/** Layer normalisation over the last dimension (PyTorch {@code nn.LayerNorm}, affine). */
public final class LayerNorm {
    private final String name;
    private final int dim;
    private final float eps;
    private final float[] gamma, beta;

    public LayerNorm(WeightTensor gamma, WeightTensor beta, float eps) {
        this.name = gamma.name();
        this.dim = gamma.dim(0);
        beta.requireShape(dim);
        this.eps = eps;
        this.gamma = gamma.toFloats();
        this.beta = beta.toFloats();
    }

    public Tensor forward(Workspace ws, Tensor x) {
        return forward(ws, x, PREFERRED);
    }

    /** As {@link #forward(Workspace, Tensor)} with vectors of {@code species} (tests). */
    Tensor forward(Workspace ws, Tensor x, VectorSpecies<Float> species) {
        return forward(ws, x, SpeciesVariants.instance(NormKernel.class, Kernel.class, species));
    }

    /** The vector implementation, one per species ({@link NormKernel}). */
    interface Kernel {
        void layerNorm(float[] x, float[] y, float[] gamma, float[] beta, int rows, int dim, float eps);
    }

    private static final Kernel PREFERRED = new NormKernel();

    private Tensor forward(Workspace ws, Tensor x, Kernel kernel) {
        if (x.dim(-1) != dim) throw new IllegalArgumentException("layer norm '" + name + "': input " + x + " has last dimension " + x.dim(-1) + ", expected " + dim);
        Tensor y = ws.take(x.shape());
        kernel.layerNorm(x.data(), y.data(), gamma, beta, x.numel() / dim, dim, eps);
        return y;
    }
}
