package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

/**
 * The encoder's diagonal Gaussian over latents (diffusers {@code DiagonalGaussianDistribution}): {@code moments} =
 * [mean | raw logvar] along channels, {@code logvar} clamped to [−30, 20], {@code std} = exp(logvar / 2).
 * All tensors come from the workspace passed to {@code encode}; {@link #release} gives them back.
 */
public record LatentDistribution(Tensor moments, Tensor mean, Tensor logvar, Tensor std) {

    /** Splits {@code moments} [N, 2L, H, W] (kept, not copied) into mean, clamped logvar and std. */
    public static LatentDistribution of(Workspace ws, Tensor moments) {
        moments.requireRank("latent distribution moments", 4);
        int n = moments.dim(0), two = moments.dim(1), h = moments.dim(2), w = moments.dim(3);
        if (two % 2 != 0) throw new IllegalArgumentException("latent distribution: moments " + moments + " have an odd channel count");
        int l = two / 2, plane = l * h * w;
        Tensor mean = ws.take(n, l, h, w), logvar = ws.take(n, l, h, w), std = ws.take(n, l, h, w);
        float[] m = moments.data(), md = mean.data(), lv = logvar.data(), sd = std.data();
        for (int b = 0; b < n; b++) {
            int src = b * 2 * plane, dst = b * plane;
            System.arraycopy(m, src, md, dst, plane);
            for (int i = 0; i < plane; i++) {
                float v = Math.min(20f, Math.max(-30f, m[src + plane + i]));
                lv[dst + i] = v;
                sd[dst + i] = (float) Math.exp(0.5 * v);
            }
        }
        return new LatentDistribution(moments, mean, logvar, std);
    }

    /** mean + std · noise, with {@code noise} of the mean's shape (e.g. {@code torch.randn} from the caller's generator). */
    public Tensor sample(Workspace ws, Tensor noise) {
        Tensor.requireSameShape("latent sample noise", mean, noise);
        Tensor y = ws.take(mean.shape());
        float[] md = mean.data(), sd = std.data(), nd = noise.data(), yd = y.data();
        for (int i = 0, e = mean.numel(); i < e; i++) yd[i] = md[i] + sd[i] * nd[i];
        return y;
    }

    /** The distribution's mode (its mean). */
    public Tensor mode() { return mean; }

    public void release(Workspace ws) { ws.release(moments, mean, logvar, std); }
}
