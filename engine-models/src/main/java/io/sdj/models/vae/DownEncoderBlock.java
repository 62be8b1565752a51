package io.sdj.models.vae;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Conv2d;

/**
 * diffusers {@code DownEncoderBlock2D}: {@code layers} resnets, then (except in the last block) {@code Downsample2D}
 * as the VAE encoder configures it (padding 0): the input is zero-padded by one row at the bottom and one column at
 * the right, then a 3×3 convolution with stride 2 and no padding ({@code downsamplers.0.conv}) halves the size
 * (rounding up odd sizes: out = ⌊(H − 2) / 2⌋ + 1 on the padded H + 1).
 */
final class DownEncoderBlock {
    private final ResnetChain resnets;
    private final Conv2d downsampleConv;

    DownEncoderBlock(WeightSource w, int in, int out, int layers, int groups, boolean downsample) {
        resnets = new ResnetChain(w, in, out, layers, groups);
        downsampleConv = downsample
                ? new Conv2d(w.get("downsamplers.0.conv.weight").requireShape(out, out, 3, 3), w.get("downsamplers.0.conv.bias"), 2, 0)
                : null;
    }

    long flops(int n, int h, int w) {
        long f = resnets.flops(n, h, w);
        if (downsampleConv != null) {
            long c = downsampleConv.outChannels();
            f += 2L * n * ((long) (h / 2) * (w / 2)) * 9 * c * c;
        }
        return f;
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x) {
        Tensor h = resnets.forward(ws, x);
        if (downsampleConv == null) return h;
        Tensor padded = padBottomRight(ws, h);
        if (h != x) ws.release(h);
        Tensor y = downsampleConv.forward(ws, padded);
        ws.release(padded);
        return y;
    }

    /** [N, C, H, W] → [N, C, H + 1, W + 1] with a zero last row and column. */
    static Tensor padBottomRight(Workspace ws, Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor y = ws.take(n, c, h + 1, w + 1);
        float[] xd = x.data(), yd = y.data();
        int pw = w + 1, plane = (h + 1) * pw;
        Parallel.forEach(n * c, p -> {
            int src = p * h * w, dst = p * plane;
            for (int r = 0; r < h; r++) {
                System.arraycopy(xd, src + r * w, yd, dst + r * pw, w);
                yd[dst + r * pw + w] = 0f;
            }
            java.util.Arrays.fill(yd, dst + h * pw, dst + plane, 0f);
        });
        return y;
    }
}
