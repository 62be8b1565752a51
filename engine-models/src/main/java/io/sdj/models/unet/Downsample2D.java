package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ModelWeights;
import io.sdj.ops.Conv2d;

/** diffusers {@code Downsample2D} with use_conv: a 3×3 convolution, stride 2, zero padding {@code downsample_padding}. */
final class Downsample2D {
    private final Conv2d conv;

    Downsample2D(WeightSource w, int channels, int padding) {
        this.conv = new Conv2d(ModelWeights.tensor(w, "conv.weight", channels, channels, 3, 3), ModelWeights.tensor(w, "conv.bias", channels), 2, padding);
    }

    Tensor forward(Workspace ws, Tensor x) { return conv.forward(ws, x); }
}
