package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ResnetBlock2D;

import java.util.List;

/**
 * diffusers {@code CrossAttnDownBlock2D} (resnet then transformer, per layer) and {@code DownBlock2D} (resnets only):
 * <pre>
 *   for each layer: h = resnets[i](h, temb); [h = attentions[i](h, context) if it exists]; skips += h
 *   if not the last block: h = downsamplers.0(h); skips += h
 * </pre>
 * Efficient blocks: {@code attention_per_layer} removes single attentions (the others keep their index), the level's
 * {@code conv_type} makes every 3×3 conv (resnets, downsampler) separable, its {@code self_attention_per_block} entry
 * removes self-attention, and each attention has its own transformer layer count.
 */
final class DownBlock {
    private final ResnetBlock2D[] resnets;
    private final Transformer2DModel[] attentions;   // entry null where no attention follows that resnet
    private final Downsample2D downsampler;          // null for the last block

    DownBlock(WeightSource w, UNetConfig c, int index, int in, int tembChannels) {
        int out = c.blockOutChannels()[index];
        int layers = c.layersPerBlock()[index];
        boolean separable = c.efficient().separable(index);
        TransformerOptions options = TransformerOptions.of(c.efficient(), c.efficient().selfAttention(index));
        this.resnets = new ResnetBlock2D[layers];
        this.attentions = new Transformer2DModel[layers];
        for (int i = 0; i < layers; i++) {
            resnets[i] = new ResnetBlock2D(w.at("resnets." + i), i == 0 ? in : out, out, tembChannels,
                    c.normNumGroups(), c.normEps(), c.resnetOutScaleFactor(), separable);
            if (c.downAttention(index, i)) {
                attentions[i] = new Transformer2DModel(w.at("attentions." + i), out, c.numAttentionHeads()[index],
                        c.crossAttentionDim()[index], c.transformerLayers()[index][i], c.normNumGroups(), c.useLinearProjection(), options);
            }
        }
        boolean last = index == c.numBlocks() - 1;
        this.downsampler = last ? null : new Downsample2D(w.at("downsamplers.0"), out, c.downsamplePadding(), separable);
    }

    /** Number of skip tensors this block adds. */
    int skipCount() { return resnets.length + (downsampler == null ? 0 : 1); }

    /**
     * @param x     [B, in, H, W]: the previous block's output, itself a skip tensor (not released here)
     * @param skips receives every output state (owned by the skip list until an up block consumes it)
     * @return the block's output (also the last entry added to {@code skips})
     */
    Tensor forward(Workspace ws, Tensor x, Tensor tembAct, Tensor context, List<Tensor> skips) {
        Tensor h = x;
        for (int i = 0; i < resnets.length; i++) {
            h = resnets[i].forward(ws, h, tembAct);
            if (attentions[i] != null) {
                Tensor a = attentions[i].forward(ws, h, context);
                ws.release(h);
                h = a;
            }
            skips.add(h);
        }
        if (downsampler != null) {
            h = downsampler.forward(ws, h);
            skips.add(h);
        }
        return h;
    }
}
