package io.sdj.models.unet;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.blocks.ModelWeights;
import io.sdj.ops.Activation;
import io.sdj.ops.Activations;
import io.sdj.ops.Conv2d;
import io.sdj.ops.GroupNorm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * diffusers {@code UNet2DConditionModel} (0.25), assembled from its config alone; weights by upstream key.
 * <pre>
 *   emb   = time_embedding(time_proj(t) [+ cond_proj(timestep_cond)])
 *   h     = conv_in(sample)                                   skips = [h]
 *   h     = down_blocks[i](h, emb, context)                   each adds its output states to skips
 *   h     = mid_block(h, emb, context)                        (absent when mid_block_type is null)
 *   h     = up_blocks[i](h, emb, context, skips)              pop skips, upsample to the next skip's size
 *   out   = conv_out(SiLU(conv_norm_out(h)))
 * </pre>
 * Traced intermediates (fixture names): time_proj, time_embedding, conv_in, down_blocks.i, mid_block, up_blocks.i,
 * conv_norm_out (after the GroupNorm, before SiLU). Marks ({@link Trace#mark}, for per-part timing): every resnet,
 * attention (with {@code proj_in} and each transformer layer's {@code attn1}/{@code attn2}/{@code ff}), resampler,
 * then {@code conv_norm_out} and {@code conv_out}.
 */
public final class UNet2DConditionModel {
    private final UNetConfig config;
    private final Conv2d convIn, convOut;
    private final TimeEmbedding timeEmbedding;
    private final DownBlock[] downBlocks;
    private final MidBlock midBlock;
    private final UpBlock[] upBlocks;
    private final GroupNorm convNormOut;

    private UNet2DConditionModel(UNetConfig c, WeightSource w) {
        this.config = c;
        int[] ch = c.blockOutChannels();
        int n = ch.length;
        int temb = c.timeEmbeddingDim();
        int kin = c.convInKernel(), kout = c.convOutKernel();
        this.convIn = new Conv2d(ModelWeights.tensor(w, "conv_in.weight", ch[0], c.inChannels(), kin, kin),
                ModelWeights.tensor(w, "conv_in.bias", ch[0]), 1, (kin - 1) / 2);
        this.timeEmbedding = new TimeEmbedding(w.at("time_embedding"), c);
        this.downBlocks = new DownBlock[n];
        for (int i = 0; i < n; i++) downBlocks[i] = new DownBlock(w.at("down_blocks." + i), c, i, i == 0 ? ch[0] : ch[i - 1], temb);
        this.midBlock = c.hasMidBlock() ? new MidBlock(w.at("mid_block"), c, temb) : null;
        this.upBlocks = new UpBlock[n];
        for (int i = 0; i < n; i++) upBlocks[i] = new UpBlock(w.at("up_blocks." + i), c, i, temb);
        this.convNormOut = new GroupNorm(ModelWeights.tensor(w, "conv_norm_out.weight", ch[0]),
                ModelWeights.tensor(w, "conv_norm_out.bias", ch[0]), c.normNumGroups(), c.normEps());
        this.convOut = new Conv2d(ModelWeights.tensor(w, "conv_out.weight", c.outChannels(), ch[0], kout, kout),
                ModelWeights.tensor(w, "conv_out.bias", c.outChannels()), 1, (kout - 1) / 2);
    }

    /** Builds the model described by a diffusers UNet {@code config.json}, reading weights by their upstream names. */
    public static UNet2DConditionModel load(JsonNode config, WeightSource weights) {
        return new UNet2DConditionModel(UNetConfig.fromJson(config), weights);
    }

    public static UNet2DConditionModel load(UNetConfig config, WeightSource weights) {
        io.sdj.core.VectorSupport.require();
        return new UNet2DConditionModel(config, weights);
    }

    public UNetConfig config() { return config; }

    /**
     * One UNet evaluation.
     *
     * @param sample               [B, in_channels, H, W] latents (any H, W ≥ 1)
     * @param timesteps            one timestep per batch element (or a single one for all)
     * @param encoderHiddenStates  [B, S, cross_attention_dim] text embedding
     * @param timestepCond         [B, time_cond_proj_dim] (LCM guidance embedding) or null
     * @return the predicted [B, out_channels, H, W], taken from {@code ws} (the caller releases it)
     */
    public Tensor forward(Workspace ws, Tensor sample, float[] timesteps, Tensor encoderHiddenStates, Tensor timestepCond, Trace trace) {
        if (trace == null) trace = Trace.NONE;
        sample.requireRank("UNet sample", 4).requireDim("UNet sample channels", 1, config.inChannels());
        int b = sample.dim(0);
        encoderHiddenStates.requireRank("UNet encoder_hidden_states", 3).requireDim("UNet encoder_hidden_states batch", 0, b);
        int[] cross = config.crossAttentionDim();
        int n = cross.length;
        for (int i = 0; i < n; i++) {
            boolean attends = config.downBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_DOWN)
                    || config.upBlockTypes().get(n - 1 - i).equals(UNetConfig.CROSS_ATTN_UP)
                    || (i == n - 1 && config.hasMidBlock());
            if (attends && encoderHiddenStates.dim(2) != cross[i]) {
                throw new IllegalArgumentException("UNet: encoder_hidden_states " + encoderHiddenStates + " has width "
                        + encoderHiddenStates.dim(2) + ", but cross_attention_dim of block " + i + " is " + cross[i]);
            }
        }
        if (timesteps.length == 1 && b > 1) {
            float[] t = new float[b];
            Arrays.fill(t, timesteps[0]);
            timesteps = t;
        }
        if (timesteps.length != b) {
            throw new IllegalArgumentException("UNet: " + timesteps.length + " timesteps for a batch of " + b);
        }

        Tensor emb = timeEmbedding.forward(ws, timesteps, timestepCond, trace);
        Tensor tembAct = Activations.apply(ws, emb, Activation.SILU);     // every resnet applies SiLU to emb first
        ws.release(emb);

        Tensor x = sample;
        if (config.centerInputSample()) {
            x = ws.take(sample.shape());
            float[] s = sample.data(), d = x.data();
            for (int i = 0, len = sample.numel(); i < len; i++) d[i] = 2 * s[i] - 1;
        }
        Tensor h = convIn.forward(ws, x);
        if (x != sample) ws.release(x);
        trace.record("conv_in", h);

        List<Tensor> skips = new ArrayList<>();
        skips.add(h);
        for (int i = 0; i < downBlocks.length; i++) {
            h = downBlocks[i].forward(ws, h, tembAct, encoderHiddenStates, skips, trace.at("down_blocks." + i));
            trace.record("down_blocks." + i, h);
        }
        if (midBlock != null) {
            h = midBlock.forward(ws, h, tembAct, encoderHiddenStates, trace.at("mid_block"));
            trace.record("mid_block", h);
        }
        for (int i = 0; i < upBlocks.length; i++) {
            h = upBlocks[i].forward(ws, h, tembAct, encoderHiddenStates, skips, trace.at("up_blocks." + i));
            trace.record("up_blocks." + i, h);
        }
        ws.release(tembAct);
        if (!skips.isEmpty()) throw new IllegalStateException("UNet: " + skips.size() + " skip tensors left unused (block layout bug)");

        Tensor normed;
        if (trace.keepsActivations()) {
            normed = convNormOut.forward(ws, h, false);
            trace.record("conv_norm_out", normed);
            Activations.applyInPlace(normed, Activation.SILU);
        } else {
            normed = convNormOut.forward(ws, h, true);
        }
        ws.release(h);
        trace.mark("conv_norm_out", normed);
        Tensor out = convOut.forward(ws, normed);
        ws.release(normed);
        trace.mark("conv_out", out);
        return out;
    }
}
