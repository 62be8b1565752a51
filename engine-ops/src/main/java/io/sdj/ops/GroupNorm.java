package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

/** Group normalisation over NCHW (PyTorch {@code nn.GroupNorm}, affine), optionally followed by SiLU. */
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
        if (x.rank() < 2) throw new IllegalArgumentException("group norm '" + name + "': input " + x + " must be [N, C, ...]");
        x.requireDim("group norm '" + name + "' channels", 1, channels);
        int n = x.dim(0);
        int spatial = x.numel() / (n * channels);
        int cpg = channels / groups;
        Tensor y = ws.take(x.shape());
        float[] xd = x.data(), yd = y.data();
        io.sdj.core.Parallel.forEach(n * groups, job -> {
            int b = job / groups, g = job % groups;
            int base = (b * channels + g * cpg) * spatial, len = cpg * spatial;
            double sum = 0, sq = 0;
            for (int i = 0; i < len; i++) { double v = xd[base + i]; sum += v; }
            double mean = sum / len;
            for (int i = 0; i < len; i++) { double d = xd[base + i] - mean; sq += d * d; }
            float inv = (float) (1.0 / Math.sqrt(sq / len + eps));
            for (int c = 0; c < cpg; c++) {
                int ch = g * cpg + c;
                float sc = gamma[ch] * inv, sh = beta[ch] - (float) mean * sc;
                int off = base + c * spatial;
                for (int i = 0; i < spatial; i++) {
                    float v = xd[off + i] * sc + sh;
                    yd[off + i] = silu ? Activation.SILU.apply(v) : v;
                }
            }
        });
        return y;
    }
}
