package io.sdj.models.unet;

/**
 * How the BasicTransformerBlocks of one Transformer2DModel are built (golden README, "Efficient UNet blocks"):
 * with or without self-attention ({@code norm1}/{@code attn1}), softmax or ReLU attention, separate or shared K/V
 * projection, GEGLU or SwiGLU feed-forward of inner width {@code ffMult}·dim. {@link #STOCK} is diffusers' block.
 */
record TransformerOptions(boolean selfAttention, boolean reluAttention, boolean sharedKv, boolean swiglu, int ffMult) {
    static final TransformerOptions STOCK = new TransformerOptions(true, false, false, false, 4);

    /** The options of a config's transformer layers, with or without self-attention. */
    static TransformerOptions of(EfficientBlocks e, boolean selfAttention) {
        return new TransformerOptions(selfAttention, e.reluAttention(), e.sharedKvProjection(), e.swiglu(), e.ffMult());
    }
}
