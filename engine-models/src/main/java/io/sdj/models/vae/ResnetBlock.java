package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Conv2d;
import io.sdj.ops.GroupNorm;

/**
 * diffusers {@code ResnetBlock2D} as the VAE uses it (no time embedding, output scale 1):
 * y = shortcut(x) + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))), shortcut = identity or a 1×1 {@code conv_shortcut}
 * when the channel count changes. Weights: {@code norm1, conv1, norm2, conv2[, conv_shortcut]}.
 */
final class ResnetBlock {
    private final GroupNorm norm1, norm2;
    private final Conv2d conv1, conv2, shortcut;
    private final int in, out;

    ResnetBlock(WeightSource w, int in, int out, int groups) {
        this.in = in;
        this.out = out;
        this.norm1 = new GroupNorm(w.get("norm1.weight").requireShape(in), w.get("norm1.bias"), groups, VaeConfig.NORM_EPS);
        this.conv1 = new Conv2d(w.get("conv1.weight").requireShape(out, in, 3, 3), w.get("conv1.bias"), 1, 1);
        this.norm2 = new GroupNorm(w.get("norm2.weight").requireShape(out), w.get("norm2.bias"), groups, VaeConfig.NORM_EPS);
        this.conv2 = new Conv2d(w.get("conv2.weight").requireShape(out, out, 3, 3), w.get("conv2.bias"), 1, 1);
        this.shortcut = in == out ? null
                : new Conv2d(w.get("conv_shortcut.weight").requireShape(out, in, 1, 1), w.get("conv_shortcut.bias"), 1, 0);
    }

    int outChannels() { return out; }

    /** Multiply-adds × 2 for one input of spatial size h×w (convolutions only). */
    long flops(int n, int h, int w) {
        long hw = (long) n * h * w;
        long f = 2 * hw * 9 * ((long) in * out + (long) out * out);
        if (shortcut != null) f += 2 * hw * in * out;
        return f;
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x) {
        Tensor h = norm1.forward(ws, x, true);
        Tensor a = conv1.forward(ws, h);
        ws.release(h);
        h = norm2.forward(ws, a, true);
        ws.release(a);
        Tensor skip = shortcut == null ? x : shortcut.forward(ws, x);
        Tensor y = conv2.forward(ws, h, skip);
        ws.release(h);
        if (skip != x) ws.release(skip);
        return y;
    }
}
