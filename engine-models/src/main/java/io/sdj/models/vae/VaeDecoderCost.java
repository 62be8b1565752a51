package io.sdj.models.vae;

/**
 * Work and size of a VAE's decode path ({@code post_quant_conv} + {@code decoder}), from its config alone (no weights).
 * FLOPs = 2 × multiply-adds of every convolution, linear layer and attention matmul (Q·Kᵀ and P·V); norms,
 * activations, softmax, resampling and residual additions are not counted — the convention of
 * {@link io.sdj.models.unet.UNetCost}.
 */
public final class VaeDecoderCost {
    private VaeDecoderCost() {}

    /** FLOPs of {@code vae.decode(z)} for n latents of h×w (an image of 8h×8w for SD). */
    public static long flops(VaeConfig c, int n, int h, int w) {
        return new Walk(n).run(c, h, w).flops;
    }

    /** Parameters of the decode path: {@code post_quant_conv} (when the config has it) and every {@code decoder.*} tensor. */
    public static long parameters(VaeConfig c) {
        return new Walk(1).run(c, 1, 1).params;
    }

    /** Mirrors {@link VaeDecoder}'s construction: conv_in → mid block → up blocks → conv_norm_out → conv_out. */
    private static final class Walk {
        final long n;
        long flops, params;

        Walk(int n) { this.n = n; }

        void conv(int in, int out, int k, long h, long w) {
            flops += 2L * n * h * w * in * out * k * k;
            params += (long) out * in * k * k + out;
        }

        void norm(int ch) { params += 2L * ch; }

        void resnet(int in, int out, long h, long w) {
            norm(in);
            conv(in, out, 3, h, w);
            norm(out);
            conv(out, out, 3, h, w);
            if (in != out) conv(in, out, 1, h, w);
        }

        void selfAttention(int ch, long h, long w) {
            long t = h * w;
            norm(ch);
            for (int i = 0; i < 4; i++) {                     // to_q, to_k, to_v, to_out.0: Linear with bias
                flops += 2L * n * t * ch * ch;
                params += (long) ch * ch + ch;
            }
            flops += 2L * 2 * n * t * t * ch;                 // Q·Kᵀ and P·V (one head)
        }

        Walk run(VaeConfig c, int h0, int w0) {
            long h = h0, w = w0;
            int l = c.latentChannels(), blocks = c.blockCount();
            if (c.usePostQuantConv()) conv(l, l, 1, h, w);
            int top = c.channels(blocks - 1);
            conv(l, top, 3, h, w);
            resnet(top, top, h, w);
            if (c.midBlockAddAttention()) selfAttention(top, h, w);
            resnet(top, top, h, w);
            int prev = top;
            for (int i = 0; i < blocks; i++) {
                int out = c.channels(blocks - 1 - i);
                for (int r = 0; r <= c.layersPerBlock(); r++) resnet(r == 0 ? prev : out, out, h, w);
                if (i < blocks - 1) {
                    h *= 2;
                    w *= 2;
                    conv(out, out, 3, h, w);                  // upsamplers.0.conv, after the nearest ×2
                }
                prev = out;
            }
            norm(prev);
            conv(prev, c.outChannels(), 3, h, w);
            return this;
        }
    }
}
