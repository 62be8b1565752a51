package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import jdk.incubator.vector.VectorSpecies;

/** Group normalisation over NCHW (PyTorch {@code nn.GroupNorm}, affine), optionally followed by SiLU (fused), optionally
 * of the input plus a per-channel shift (fused). Vectorised two-pass statistics per group, see {@link NormKernel}. */
public final class GroupNorm {
    private final String name;
    private final int groups, channels;
    private final float eps;
    private final float[] gamma, beta;

    public GroupNorm(WeightTensor gamma, WeightTensor beta, int groups, float eps) {
        this.name = gamma.name();
        this.channels = gamma.dim(0);
        beta.requireShape(channels);
        if (groups < 1 || channels % groups != 0) {
            throw new IllegalArgumentException("group norm '" + name + "': " + channels + " channels do not split into " + groups + " groups");
        }
        this.groups = groups;
        this.eps = eps;
        this.gamma = gamma.toFloats();
        this.beta = beta.toFloats();
    }

    public Tensor forward(Workspace ws, Tensor x, boolean silu) {
        return forward(ws, x, null, silu, PREFERRED);
    }

    /**
     * GroupNorm(x + shift[:, :, None, None]), then SiLU if asked, without a pass of its own for the addition:
     * shift [N, C] (e.g. a resnet block's projected time embedding) enters the statistics and the normalisation
     * per channel (see {@link NormKernel}). {@code x} is left untouched.
     */
    public Tensor forward(Workspace ws, Tensor x, Tensor shift, boolean silu) {
        return forward(ws, x, shift, silu, PREFERRED);
    }

    /** As {@link #forward(Workspace, Tensor, Tensor, boolean)} with vectors of {@code species} (tests). */
    Tensor forward(Workspace ws, Tensor x, Tensor shift, boolean silu, VectorSpecies<Float> species) {
        return forward(ws, x, shift, silu, SpeciesVariants.instance(NormKernel.class, Kernel.class, species));
    }

    /** The vector implementation, one per species ({@link NormKernel}). */
    interface Kernel {
        /** shift: null, or [n·channels] added to every element of its (batch, channel) before the norm */
        void groupNorm(float[] x, float[] y, float[] gamma, float[] beta, float[] shift, int n, int channels, int groups,
                       int spatial, float eps, boolean silu);
    }

    private static final Kernel PREFERRED = new NormKernel();

    private Tensor forward(Workspace ws, Tensor x, Tensor shift, boolean silu, Kernel kernel) {
        if (x.rank() < 2) throw new IllegalArgumentException("group norm '" + name + "': input " + x + " must be [N, C, ...]");
        x.requireDim("group norm '" + name + "' channels", 1, channels);
        int n = x.dim(0);
        if (shift != null && (shift.rank() != 2 || shift.dim(0) != n || shift.dim(1) != channels)) {
            throw new IllegalArgumentException("group norm '" + name + "': shift " + shift + " must be [" + n + ", " + channels + "] for input " + x);
        }
        if (x.numel() == 0) return ws.take(x.shape());
        int spatial = x.numel() / (n * channels);
        Tensor y = ws.take(x.shape());
        kernel.groupNorm(x.data(), y.data(), gamma, beta, shift == null ? null : shift.data(), n, channels, groups, spatial, eps, silu);
        return y;
    }
}
