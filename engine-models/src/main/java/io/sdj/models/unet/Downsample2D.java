package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.Conv3x3;

/**
 * diffusers {@code Downsample2D} with use_conv: a 3×3 convolution, stride 2, zero padding {@code downsample_padding};
 * depthwise-separable ({@code conv.depthwise} + {@code conv.pointwise}, padding 1) when its level's {@code conv_type} is.
 */
final class Downsample2D {
    private final Conv3x3 conv;

    Downsample2D(WeightSource w, int channels, int padding, boolean separable) {
        this.conv = new Conv3x3(w, "conv", channels, channels, 2, padding, separable);
    }

    Tensor forward(Workspace ws, Tensor x) { return conv.forward(ws, x); }
}
