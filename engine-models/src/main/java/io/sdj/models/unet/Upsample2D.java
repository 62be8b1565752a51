package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.Conv3x3;
import io.sdj.ops.Elementwise;

/**
 * diffusers {@code Upsample2D} with use_conv: nearest-neighbour resize, then a 3×3 convolution (padding 1; separable
 * when its block's level is, see {@link Conv3x3}).
 * The target size is the skip connection's size (diffusers passes {@code upsample_size} for sizes that are not a
 * multiple of 2^upsamplers; otherwise it is exactly 2×, which the skip size then equals too).
 */
final class Upsample2D {
    private final Conv3x3 conv;

    Upsample2D(WeightSource w, int channels, boolean separable) {
        this.conv = new Conv3x3(w, "conv", channels, channels, 1, 1, separable);
    }

    Tensor forward(Workspace ws, Tensor x, int outH, int outW) {
        Tensor u = Elementwise.upsampleNearest(ws, x, outH, outW);
        Tensor y = conv.forward(ws, u);
        ws.release(u);
        return y;
    }
}
