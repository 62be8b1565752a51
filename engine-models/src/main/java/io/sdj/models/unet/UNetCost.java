package io.sdj.models.unet;

/**
 * Work and size of a UNet, derived from its config alone (no weights needed).
 * FLOPs = 2 × multiply-adds of every convolution, linear layer and attention matmul (Q·Kᵀ and P·V); norms,
 * activations, softmax and elementwise work are not counted. This is the convention of the project's performance notes
 * (SD 1.5: 180.1 GFLOP at a 32×32 latent, 803.3 at 64×64; BK-SDM-Tiny 108.8 / 485.5; batch 1, 77 text tokens).
 */
public final class UNetCost {
    private UNetCost() {}

    /** Text tokens of one CLIP chunk: the context length the counts of the bundled architectures use. */
    public static final int TEXT_TOKENS_DEFAULT = 77;

    /** FLOPs of one forward at batch {@code b}, latent {@code h}×{@code w}, {@code textLen} context tokens. */
    public static long flops(UNetConfig c, int b, int h, int w, int textLen) {
        return new Walk(c, b, textLen).run(h, w).flops;
    }

    /**
     * One named part of the forward pass, as the model marks it ({@link io.sdj.models.Trace#mark}): {@code conv_in},
     * {@code time_embedding}, {@code down_blocks.1.resnets.0}, {@code down_blocks.1.attentions.0.proj_in} (norm +
     * proj_in), {@code ….transformer_blocks.0.attn1} / {@code .attn2} / {@code .ff} (each with its norm),
     * {@code down_blocks.1.attentions.0} (proj_out), {@code down_blocks.1.downsamplers.0}, {@code mid_block.*},
     * {@code up_blocks.*}, {@code conv_norm_out}, {@code conv_out}.
     */
    public record Part(String name, long flops, long parameters) {}

    /** The parts of one forward in execution order, with their FLOPs and parameters (they sum to the totals). */
    public static java.util.List<Part> parts(UNetConfig c, int b, int h, int w, int textLen) {
        Walk walk = new Walk(c, b, textLen);
        walk.parts = new java.util.ArrayList<>();
        walk.run(h, w);
        walk.enter(null);
        return walk.parts;
    }

    /** Parameter count (every weight and bias the model loads). */
    public static long parameters(UNetConfig c) {
        return new Walk(c, 1, 1).run(8, 8).params;
    }

    /** Mirrors the model's construction, summing each layer's multiply-adds and parameters. */
    private static final class Walk {
        final UNetConfig c;
        final long b, textLen;
        final int temb;
        long flops, params;
        java.util.List<Part> parts;          // null unless the parts are wanted
        String part;                         // the part being counted
        long partFlops, partParams;          // the totals when it started

        /** Closes the part being counted and starts {@code name} (null: just close). */
        void enter(String name) {
            if (parts == null) return;
            if (part != null) parts.add(new Part(part, flops - partFlops, params - partParams));
            part = name;
            partFlops = flops;
            partParams = params;
        }

        Walk(UNetConfig c, int b, int textLen) {
            this.c = c;
            this.b = b;
            this.textLen = textLen;
            this.temb = c.timeEmbeddingDim();
        }

        void conv(int in, int out, int k, int oh, int ow) {
            flops += 2L * b * oh * ow * in * out * k * k;
            params += (long) out * in * k * k + out;
        }

        void linear(long rows, int in, int out, boolean bias) {
            flops += 2L * rows * in * out;
            params += (long) in * out + (bias ? out : 0);
        }

        void norm(int ch) { params += 2L * ch; }

        void resnet(int in, int out, int h, int w) {
            norm(in);
            conv(in, out, 3, h, w);
            linear(b, temb, out, true);
            norm(out);
            conv(out, out, 3, h, w);
            if (in != out) conv(in, out, 1, h, w);
        }

        void attention(long tq, long tk, int queryDim, int contextDim, int inner) {
            linear(b * tq, queryDim, inner, false);
            linear(b * tk, contextDim, inner, false);
            linear(b * tk, contextDim, inner, false);
            flops += 2L * 2 * b * tq * tk * inner;           // Q·Kᵀ and P·V over all heads
            linear(b * tq, inner, queryDim, true);
        }

        void transformer(String name, int ch, int h, int w, int contextDim, int layers) {
            long hw = (long) h * w;
            enter(name + ".proj_in");
            norm(ch);
            linear(b * hw, ch, ch, true);                    // proj_in (1×1 conv or linear: same work)
            for (int l = 0; l < layers; l++) {
                enter(name + ".transformer_blocks." + l + ".attn1");
                norm(ch);
                attention(hw, hw, ch, ch, ch);
                enter(name + ".transformer_blocks." + l + ".attn2");
                norm(ch);
                attention(hw, textLen, ch, contextDim, ch);
                enter(name + ".transformer_blocks." + l + ".ff");
                norm(ch);
                linear(b * hw, ch, 8 * ch, true);            // GEGLU projection to 2 × 4·ch
                linear(b * hw, 4 * ch, ch, true);
            }
            enter(name);
            linear(b * hw, ch, ch, true);                    // proj_out
        }

        Walk run(int h, int w) {
            int[] ch = c.blockOutChannels();
            int n = ch.length;
            enter("time_embedding");
            if (c.timeCondProjDim() != null) linear(b, c.timeCondProjDim(), ch[0], false);
            linear(b, ch[0], temb, true);
            linear(b, temb, temb, true);
            int kin = c.convInKernel(), kout = c.convOutKernel();
            enter("conv_in");
            conv(c.inChannels(), ch[0], kin, h, w);
            int[][] size = new int[n][];
            size[0] = new int[]{h, w};
            int in = ch[0];
            for (int i = 0; i < n; i++) {
                int out = ch[i], y = size[i][0], x = size[i][1];
                boolean attn = c.downBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_DOWN);
                for (int l = 0; l < c.layersPerBlock()[i]; l++) {
                    enter("down_blocks." + i + ".resnets." + l);
                    resnet(l == 0 ? in : out, out, y, x);
                    if (attn) transformer("down_blocks." + i + ".attentions." + l, out, y, x, c.crossAttentionDim()[i], c.transformerLayersPerBlock()[i]);
                }
                in = out;
                if (i < n - 1) {
                    int p = c.downsamplePadding();
                    size[i + 1] = new int[]{(y + 2 * p - 3) / 2 + 1, (x + 2 * p - 3) / 2 + 1};
                    enter("down_blocks." + i + ".downsamplers.0");
                    conv(out, out, 3, size[i + 1][0], size[i + 1][1]);
                }
            }
            if (c.hasMidBlock()) {
                int last = ch[n - 1], y = size[n - 1][0], x = size[n - 1][1];
                enter("mid_block.resnets.0");
                resnet(last, last, y, x);
                transformer("mid_block.attentions.0", last, y, x, c.crossAttentionDim()[n - 1], c.transformerLayersPerBlock()[n - 1]);
                enter("mid_block.resnets.1");
                resnet(last, last, y, x);
            }
            for (int i = 0; i < n; i++) {
                int d = n - 1 - i, out = ch[d], prev = ch[Math.min(n - 1, d + 1)], skipIn = ch[Math.max(0, d - 1)];
                int layers = c.layersPerBlock()[d] + 1, y = size[d][0], x = size[d][1];
                boolean attn = c.upBlockTypes().get(i).equals(UNetConfig.CROSS_ATTN_UP);
                for (int l = 0; l < layers; l++) {
                    enter("up_blocks." + i + ".resnets." + l);
                    resnet((l == 0 ? prev : out) + (l == layers - 1 ? skipIn : out), out, y, x);
                    if (attn) transformer("up_blocks." + i + ".attentions." + l, out, y, x, c.crossAttentionDim()[d], c.transformerLayersPerBlock()[d]);
                }
                if (i < n - 1) {
                    enter("up_blocks." + i + ".upsamplers.0");
                    conv(out, out, 3, size[d - 1][0], size[d - 1][1]);
                }
            }
            enter("conv_norm_out");
            norm(ch[0]);
            enter("conv_out");
            conv(ch[0], c.outChannels(), kout, h, w);
            return this;
        }
    }
}
