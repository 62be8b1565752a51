package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.ops.Conv2d;
import io.sdj.ops.Elementwise;

/**
 * diffusers {@code UpDecoderBlock2D}: {@code layers} resnets, then (except in the last block) {@code Upsample2D}:
 * nearest 2× upsampling followed by a 3×3 convolution ({@code upsamplers.0.conv}).
 */
final class UpDecoderBlock {
    private final ResnetChain resnets;
    private final Conv2d upsampleConv;

    UpDecoderBlock(WeightSource w, int in, int out, int layers, int groups, boolean upsample) {
        resnets = new ResnetChain(w, in, out, layers, groups);
        upsampleConv = upsample
                ? new Conv2d(w.get("upsamplers.0.conv.weight").requireShape(out, out, 3, 3), w.get("upsamplers.0.conv.bias"), 1, 1)
                : null;
    }

    long flops(int n, int h, int w) {
        long f = resnets.flops(n, h, w);
        if (upsampleConv != null) {
            long c = upsampleConv.outChannels();
            f += 2L * n * (4L * h * w) * 9 * c * c;
        }
        return f;
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x) {
        Tensor h = resnets.forward(ws, x);
        if (upsampleConv == null) return h;
        Tensor up = Elementwise.upsampleNearest(ws, h, 2 * h.dim(2), 2 * h.dim(3));
        if (h != x) ws.release(h);
        Tensor y = upsampleConv.forward(ws, up);
        ws.release(up);
        return y;
    }
}
