package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.ops.Conv2d;
import io.sdj.ops.GroupNorm;

/**
 * diffusers VAE {@code Encoder} (weights under {@code encoder.}, {@code double_z}): conv_in → down blocks
 * ({@code layers_per_block} resnets, padded stride-2 downsampling in all but the last) → mid block → conv_norm_out
 * → SiLU → conv_out to 2 × latent channels. Traces {@code encoder.conv_in}, {@code encoder.down_blocks.i},
 * {@code encoder.mid_block}, {@code encoder.conv_out}.
 */
final class VaeEncoder {
    private final Conv2d convIn, convOut;
    private final DownEncoderBlock[] down;
    private final MidBlock mid;
    private final GroupNorm normOut;

    VaeEncoder(WeightSource w, VaeConfig c) {
        int blocks = c.blockCount(), g = c.normNumGroups();
        convIn = new Conv2d(w.get("conv_in.weight").requireShape(c.channels(0), c.inChannels(), 3, 3), w.get("conv_in.bias"), 1, 1);
        down = new DownEncoderBlock[blocks];
        int prev = c.channels(0);
        for (int i = 0; i < blocks; i++) {
            int out = c.channels(i);
            down[i] = new DownEncoderBlock(w.at("down_blocks." + i), prev, out, c.layersPerBlock(), g, i < blocks - 1);
            prev = out;
        }
        mid = new MidBlock(w.at("mid_block"), prev, g, c.midBlockAddAttention());
        normOut = new GroupNorm(w.get("conv_norm_out.weight").requireShape(prev), w.get("conv_norm_out.bias"), g, VaeConfig.NORM_EPS);
        convOut = new Conv2d(w.get("conv_out.weight").requireShape(2 * c.latentChannels(), prev, 3, 3), w.get("conv_out.bias"), 1, 1);
    }

    /** Does not release {@code x}. */
    Tensor forward(Workspace ws, Tensor x, Trace trace) {
        Tensor h = convIn.forward(ws, x);
        trace.record("encoder.conv_in", h);
        for (int i = 0; i < down.length; i++) {
            Tensor next = down[i].forward(ws, h);
            ws.release(h);
            h = next;
            trace.record("encoder.down_blocks." + i, h);
        }
        Tensor m = mid.forward(ws, h);
        ws.release(h);
        trace.record("encoder.mid_block", m);
        Tensor n = normOut.forward(ws, m, true);
        ws.release(m);
        Tensor y = convOut.forward(ws, n);
        ws.release(n);
        trace.record("encoder.conv_out", y);
        return y;
    }
}
