package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.ops.Activation;
import io.sdj.ops.Activations;
import io.sdj.ops.Conv2d;
import io.sdj.ops.GroupNorm;

/**
 * diffusers VAE {@code Decoder} (weights under {@code decoder.}): conv_in → mid block → up blocks (channels
 * {@code block_out_channels} reversed, {@code layers_per_block + 1} resnets each, 2× upsampling in all but the last)
 * → conv_norm_out → SiLU → conv_out. Traces {@code decoder.conv_in}, {@code decoder.mid_block},
 * {@code decoder.up_blocks.i}, {@code decoder.conv_norm_out} (before the SiLU).
 */
final class VaeDecoder {
    private final Conv2d convIn, convOut;
    private final MidBlock mid;
    private final UpDecoderBlock[] up;
    private final GroupNorm normOut;
    private final int latentChannels;

    VaeDecoder(WeightSource w, VaeConfig c) {
        int blocks = c.blockCount(), g = c.normNumGroups();
        int top = c.channels(blocks - 1);
        latentChannels = c.latentChannels();
        convIn = new Conv2d(w.get("conv_in.weight").requireShape(top, c.latentChannels(), 3, 3), w.get("conv_in.bias"), 1, 1);
        mid = new MidBlock(w.at("mid_block"), top, g, c.midBlockAddAttention());
        up = new UpDecoderBlock[blocks];
        int prev = top;
        for (int i = 0; i < blocks; i++) {
            int out = c.channels(blocks - 1 - i);
            up[i] = new UpDecoderBlock(w.at("up_blocks." + i), prev, out, c.layersPerBlock() + 1, g, i < blocks - 1);
            prev = out;
        }
        normOut = new GroupNorm(w.get("conv_norm_out.weight").requireShape(prev), w.get("conv_norm_out.bias"), g, VaeConfig.NORM_EPS);
        convOut = new Conv2d(w.get("conv_out.weight").requireShape(c.outChannels(), prev, 3, 3), w.get("conv_out.bias"), 1, 1);
    }

    long flops(int n, int h, int w) {
        long f = 2L * n * h * w * 9 * convIn.inChannels() * convIn.outChannels();
        f += mid.flops(n, h, w);
        for (UpDecoderBlock b : up) {
            f += b.flops(n, h, w);
            if (b != up[up.length - 1]) { h *= 2; w *= 2; }
        }
        return f + 2L * n * h * w * 9 * convOut.inChannels() * convOut.outChannels();
    }

    /** z [N, latent, h, w] (after post_quant_conv) → image [N, out, 8h, 8w]; does not release {@code z}. */
    Tensor forward(Workspace ws, Tensor z, Trace trace) {
        Tensor h = convIn.forward(ws, z);
        trace.record("decoder.conv_in", h);
        Tensor m = mid.forward(ws, h);
        ws.release(h);
        h = m;
        trace.record("decoder.mid_block", h);
        for (int i = 0; i < up.length; i++) {
            Tensor next = up[i].forward(ws, h);
            ws.release(h);
            h = next;
            trace.record("decoder.up_blocks." + i, h);
        }
        Tensor n = normOut.forward(ws, h, false);
        ws.release(h);
        trace.record("decoder.conv_norm_out", n);
        Activations.applyInPlace(n, Activation.SILU);
        Tensor y = convOut.forward(ws, n);
        ws.release(n);
        return y;
    }

    int latentChannels() { return latentChannels; }
}
