package io.sdj.models.unet;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ResnetBlock2D;
import io.sdj.ops.Elementwise;

import java.util.List;

/**
 * diffusers {@code CrossAttnUpBlock2D} / {@code UpBlock2D}, up block {@code index} (0 = innermost):
 * layers_per_block + 1 layers, each concatenating the most recent unused skip tensor:
 * <pre>
 *   for each layer: h = cat(h, skips.pop()); h = resnets[i](h, temb); [h = attentions[i](h, context) if it exists]
 *   if not the last block: h = upsamplers.0(h, size of the next skip)
 * </pre>
 * Channels: layer i takes prev_output (i = 0) or out, plus a skip of out channels, except the last layer whose skip
 * has the channels of the next-outer down block.
 * Efficient blocks as in {@link DownBlock}, with {@code up_attention_per_layer} (up order) and the level n−1−index.
 */
final class UpBlock {
    private final ResnetBlock2D[] resnets;
    private final Transformer2DModel[] attentions;   // entry null where no attention follows that resnet
    private final Upsample2D upsampler;              // null for the last block

    UpBlock(WeightSource w, UNetConfig c, int index, int tembChannels) {
        int n = c.numBlocks();
        int down = n - 1 - index;                                   // the down block at the same resolution
        int out = c.blockOutChannels()[down];
        int prevOut = c.blockOutChannels()[Math.min(n - 1, down + 1)];
        int in = c.blockOutChannels()[Math.max(0, down - 1)];
        int layers = c.layersPerBlock()[down] + 1;
        boolean separable = c.efficient().separable(down);
        TransformerOptions options = TransformerOptions.of(c.efficient(), c.efficient().selfAttention(down));
        this.resnets = new ResnetBlock2D[layers];
        this.attentions = new Transformer2DModel[layers];
        for (int i = 0; i < layers; i++) {
            int skipChannels = i == layers - 1 ? in : out;
            int resIn = i == 0 ? prevOut : out;
            resnets[i] = new ResnetBlock2D(w.at("resnets." + i), resIn + skipChannels, out, tembChannels,
                    c.normNumGroups(), c.normEps(), c.resnetOutScaleFactor(), separable);
            if (c.upAttention(index, i)) {
                attentions[i] = new Transformer2DModel(w.at("attentions." + i), out, c.numAttentionHeads()[down],
                        c.crossAttentionDim()[down], c.upTransformerLayers()[index][i], c.normNumGroups(), c.useLinearProjection(), options);
            }
        }
        this.upsampler = index == n - 1 ? null : new Upsample2D(w.at("upsamplers.0"), out, separable);
    }

    /**
     * @param x     the previous stage's output; consumed (released) by this block — it may also be the top skip tensor
     *              (no mid block), which is then released once
     * @param skips the skip stack; this block removes and releases the entries it uses
     * @return a new tensor
     */
    Tensor forward(Workspace ws, Tensor x, Tensor tembAct, Tensor context, List<Tensor> skips) {
        Tensor h = x;
        for (int i = 0; i < resnets.length; i++) {
            Tensor skip = skips.removeLast();
            Tensor cat = Elementwise.concatChannels(ws, h, skip);
            if (h != skip) ws.release(h);
            ws.release(skip);
            h = resnets[i].forward(ws, cat, tembAct);
            ws.release(cat);
            if (attentions[i] != null) {
                Tensor a = attentions[i].forward(ws, h, context);
                ws.release(h);
                h = a;
            }
        }
        if (upsampler != null) {
            Tensor next = skips.getLast();
            Tensor u = upsampler.forward(ws, h, next.dim(2), next.dim(3));
            ws.release(h);
            h = u;
        }
        return h;
    }
}
