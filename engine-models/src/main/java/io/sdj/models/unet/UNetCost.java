package io.sdj.models.unet;

/**
 * Work and size of a UNet, derived from its config alone (no weights needed), efficient blocks included.
 * MACs (multiply-accumulates) are counted as the golden fixtures' {@code architectures/README.md} counts them: every
 * convolution adds output elements × (Cin / groups) × kh × kw, every linear layer output elements × in_features, every
 * attention call Nq·Nk·inner for Q·Kᵀ and the same for P·V; norms, activations, softmax/ReLU, bias and residual
 * additions, resampling and concatenation are not counted. FLOPs = 2 × MACs (the project's performance notes:
 * SD 1.5 180.1 GFLOP at a 32×32 latent, 803.3 at 64×64; batch 1, 77 text tokens).
 */
public final class UNetCost {
    private UNetCost() {}

    /** Multiply-accumulates of one forward, split by kind. */
    public record Macs(long conv, long linear, long attention) {
        public long total() { return conv + linear + attention; }
    }

    /** FLOPs of one forward at batch {@code b}, latent {@code h}×{@code w}, {@code textLen} context tokens. */
    public static long flops(UNetConfig c, int b, int h, int w, int textLen) {
        return 2 * macs(c, b, h, w, textLen).total();
    }

    /** Multiply-accumulates of one forward at batch {@code b}, latent {@code h}×{@code w}, {@code textLen} context tokens. */
    public static Macs macs(UNetConfig c, int b, int h, int w, int textLen) {
        Walk walk = new Walk(c, b, textLen).run(h, w);
        return new Macs(walk.conv, walk.linear, walk.attention);
    }

    /** Parameter count (every weight and bias the model loads). */
    public static long parameters(UNetConfig c) {
        return new Walk(c, 1, 1).run(8, 8).params;
    }

    /** Mirrors the model's construction, summing each layer's multiply-adds and parameters. */
    private static final class Walk {
        final UNetConfig c;
        final EfficientBlocks e;
        final long b, textLen;
        final int temb;
        long conv, linear, attention, params;

        Walk(UNetConfig c, int b, int textLen) {
            this.c = c;
            this.e = c.efficient();
            this.b = b;
            this.textLen = textLen;
            this.temb = c.timeEmbeddingDim();
        }

        void conv(int in, int out, int k, int oh, int ow) {
            conv += b * oh * ow * in * out * k * k;
            params += (long) out * in * k * k + out;
        }

        /** A 3×3 conv (stride given by its output size), dense or depthwise 3×3 + pointwise 1×1. */
        void conv3x3(int in, int out, int oh, int ow, boolean separable) {
            if (!separable) {
                conv(in, out, 3, oh, ow);
                return;
            }
            conv += b * oh * ow * in * 9L;                   // depthwise: Cin / groups = 1
            params += 9L * in + in;
            conv(in, out, 1, oh, ow);
        }

        void linear(long rows, int in, int out, boolean bias) {
            linear += rows * in * out;
            params += (long) in * out + (bias ? out : 0);
        }

        void norm(int ch) { params += 2L * ch; }

        void resnet(int in, int out, int h, int w, boolean separable) {
            norm(in);
            conv3x3(in, out, h, w, separable);
            linear(b, temb, out, true);
            norm(out);
            conv3x3(out, out, h, w, separable);
            if (in != out) conv(in, out, 1, h, w);
        }

        void attention(long tq, long tk, int queryDim, int contextDim, int inner) {
            linear(b * tq, queryDim, inner, false);
            linear(b * tk, contextDim, inner, false);
            if (!e.sharedKvProjection()) linear(b * tk, contextDim, inner, false);
            attention += 2L * b * tq * tk * inner;           // Q·Kᵀ and P·V over all heads
            linear(b * tq, inner, queryDim, true);
        }

        void transformer(int ch, int h, int w, int contextDim, int layers, boolean self) {
            long hw = (long) h * w;
            int inner = e.ffMult() * ch;
            norm(ch);
            projection(hw, ch, h, w);                        // proj_in
            for (int l = 0; l < layers; l++) {
                if (self) {
                    norm(ch);
                    attention(hw, hw, ch, ch, ch);
                }
                norm(ch);
                attention(hw, textLen, ch, contextDim, ch);
                norm(ch);
                linear(b * hw, ch, 2 * inner, true);         // gated projection to value and gate halves
                linear(b * hw, inner, ch, true);
            }
            projection(hw, ch, h, w);                        // proj_out
        }

        /** proj_in / proj_out: a Linear with use_linear_projection, else a 1×1 conv (same work, counted as conv). */
        void projection(long hw, int ch, int h, int w) {
            if (c.useLinearProjection()) linear(b * hw, ch, ch, true);
            else conv(ch, ch, 1, h, w);
        }

        Walk run(int h, int w) {
            int[] ch = c.blockOutChannels();
            int n = ch.length;
            if (c.timeCondProjDim() != null) linear(b, c.timeCondProjDim(), ch[0], false);
            linear(b, ch[0], temb, true);
            linear(b, temb, temb, true);
            int kin = c.convInKernel(), kout = c.convOutKernel();
            conv(c.inChannels(), ch[0], kin, h, w);
            int[][] size = new int[n][];
            size[0] = new int[]{h, w};
            int in = ch[0];
            for (int i = 0; i < n; i++) {
                int out = ch[i], y = size[i][0], x = size[i][1];
                boolean sep = e.separable(i);
                for (int l = 0; l < c.layersPerBlock()[i]; l++) {
                    resnet(l == 0 ? in : out, out, y, x, sep);
                    if (c.downAttention(i, l)) transformer(out, y, x, c.crossAttentionDim()[i], c.transformerLayers()[i][l], e.selfAttention(i));
                }
                in = out;
                if (i < n - 1) {
                    int p = sep ? 1 : c.downsamplePadding();
                    size[i + 1] = new int[]{(y + 2 * p - 3) / 2 + 1, (x + 2 * p - 3) / 2 + 1};
                    conv3x3(out, out, size[i + 1][0], size[i + 1][1], sep);
                }
            }
            if (c.hasMidBlock()) {
                int last = ch[n - 1], y = size[n - 1][0], x = size[n - 1][1];
                boolean sep = e.separable(n - 1);
                resnet(last, last, y, x, sep);
                transformer(last, y, x, c.crossAttentionDim()[n - 1], e.midBlockTransformerLayers(), e.midBlockSelfAttention());
                resnet(last, last, y, x, sep);
            }
            for (int j = 0; j < n; j++) {
                int d = c.upLevel(j), out = ch[d], prev = ch[Math.min(n - 1, d + 1)], skipIn = ch[Math.max(0, d - 1)];
                int layers = c.upLayers(j), y = size[d][0], x = size[d][1];
                boolean sep = e.separable(d);
                for (int l = 0; l < layers; l++) {
                    resnet((l == 0 ? prev : out) + (l == layers - 1 ? skipIn : out), out, y, x, sep);
                    if (c.upAttention(j, l)) transformer(out, y, x, c.crossAttentionDim()[d], c.upTransformerLayers()[j][l], e.selfAttention(d));
                }
                if (j < n - 1) conv3x3(out, out, size[d - 1][0], size[d - 1][1], sep);
            }
            norm(ch[0]);
            conv(ch[0], c.outChannels(), kout, h, w);
            return this;
        }
    }
}
