package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

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
        if (x.dim(-1) != dim) throw new IllegalArgumentException("layer norm '" + name + "': input " + x + " has last dimension " + x.dim(-1) + ", expected " + dim);
        Tensor y = ws.take(x.shape());
        float[] xd = x.data(), yd = y.data();
        int rows = x.numel() / dim;
        io.sdj.core.Parallel.forEach(rows, r -> {
            int o = r * dim;
            double sum = 0, sq = 0;
            for (int i = 0; i < dim; i++) sum += xd[o + i];
            double mean = sum / dim;
            for (int i = 0; i < dim; i++) { double d = xd[o + i] - mean; sq += d * d; }
            float inv = (float) (1.0 / Math.sqrt(sq / dim + eps));
            for (int i = 0; i < dim; i++) yd[o + i] = (xd[o + i] - (float) mean) * inv * gamma[i] + beta[i];
        });
        return y;
    }
}
