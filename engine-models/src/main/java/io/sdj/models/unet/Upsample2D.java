package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ModelWeights;
import io.sdj.ops.Conv2d;
import io.sdj.ops.Elementwise;

/**
 * diffusers {@code Upsample2D} with use_conv: nearest-neighbour resize, then a 3×3 convolution (padding 1).
 * The target size is the skip connection's size (diffusers passes {@code upsample_size} for sizes that are not a
 * multiple of 2^upsamplers; otherwise it is exactly 2×, which the skip size then equals too).
 */
final class Upsample2D {
    private final Conv2d conv;

    Upsample2D(WeightSource w, int channels) {
        this.conv = new Conv2d(ModelWeights.tensor(w, "conv.weight", channels, channels, 3, 3), ModelWeights.tensor(w, "conv.bias", channels), 1, 1);
    }

    Tensor forward(Workspace ws, Tensor x, int outH, int outW) {
        Tensor u = Elementwise.upsampleNearest(ws, x, outH, outW);
        Tensor y = conv.forward(ws, u);
        ws.release(u);
        return y;
    }
}
