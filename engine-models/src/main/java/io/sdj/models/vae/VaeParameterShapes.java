package io.sdj.models.vae;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The diffusers state_dict names and shapes of an {@code AutoencoderKL} with a given config (current key names:
 * {@code to_q/to_k/to_v/to_out.0}). Used to build synthetic weights for benchmarks and to check a file's layout.
 */
public final class VaeParameterShapes {
    private VaeParameterShapes() {}

    /** Encoder, decoder and the quant convs. */
    public static Map<String, int[]> of(VaeConfig c) {
        Map<String, int[]> m = new LinkedHashMap<>();
        encoder(m, c);
        decoder(m, c);
        return m;
    }

    /** Decoder and post_quant_conv only. */
    public static Map<String, int[]> decoderOnly(VaeConfig c) {
        Map<String, int[]> m = new LinkedHashMap<>();
        decoder(m, c);
        return m;
    }

    private static void encoder(Map<String, int[]> m, VaeConfig c) {
        int blocks = c.blockCount(), l = c.latentChannels();
        conv(m, "encoder.conv_in", c.channels(0), c.inChannels(), 3);
        int prev = c.channels(0);
        for (int i = 0; i < blocks; i++) {
            int out = c.channels(i);
            for (int r = 0; r < c.layersPerBlock(); r++) {
                resnet(m, "encoder.down_blocks." + i + ".resnets." + r, r == 0 ? prev : out, out);
            }
            if (i < blocks - 1) conv(m, "encoder.down_blocks." + i + ".downsamplers.0.conv", out, out, 3);
            prev = out;
        }
        mid(m, "encoder.mid_block", prev, c.midBlockAddAttention());
        norm(m, "encoder.conv_norm_out", prev);
        conv(m, "encoder.conv_out", 2 * l, prev, 3);
        if (c.useQuantConv()) conv(m, "quant_conv", 2 * l, 2 * l, 1);
    }

    private static void decoder(Map<String, int[]> m, VaeConfig c) {
        int blocks = c.blockCount(), l = c.latentChannels();
        if (c.usePostQuantConv()) conv(m, "post_quant_conv", l, l, 1);
        int top = c.channels(blocks - 1);
        conv(m, "decoder.conv_in", top, l, 3);
        mid(m, "decoder.mid_block", top, c.midBlockAddAttention());
        int prev = top;
        for (int i = 0; i < blocks; i++) {
            int out = c.channels(blocks - 1 - i);
            for (int r = 0; r <= c.layersPerBlock(); r++) {
                resnet(m, "decoder.up_blocks." + i + ".resnets." + r, r == 0 ? prev : out, out);
            }
            if (i < blocks - 1) conv(m, "decoder.up_blocks." + i + ".upsamplers.0.conv", out, out, 3);
            prev = out;
        }
        norm(m, "decoder.conv_norm_out", prev);
        conv(m, "decoder.conv_out", c.outChannels(), prev, 3);
    }

    private static void mid(Map<String, int[]> m, String p, int ch, boolean attention) {
        resnet(m, p + ".resnets.0", ch, ch);
        if (attention) {
            norm(m, p + ".attentions.0.group_norm", ch);
            for (String s : new String[] {"to_q", "to_k", "to_v", "to_out.0"}) {
                m.put(p + ".attentions.0." + s + ".weight", new int[] {ch, ch});
                m.put(p + ".attentions.0." + s + ".bias", new int[] {ch});
            }
        }
        resnet(m, p + ".resnets.1", ch, ch);
    }

    private static void resnet(Map<String, int[]> m, String p, int in, int out) {
        norm(m, p + ".norm1", in);
        conv(m, p + ".conv1", out, in, 3);
        norm(m, p + ".norm2", out);
        conv(m, p + ".conv2", out, out, 3);
        if (in != out) conv(m, p + ".conv_shortcut", out, in, 1);
    }

    private static void norm(Map<String, int[]> m, String p, int ch) {
        m.put(p + ".weight", new int[] {ch});
        m.put(p + ".bias", new int[] {ch});
    }

    private static void conv(Map<String, int[]> m, String p, int out, int in, int k) {
        m.put(p + ".weight", new int[] {out, in, k, k});
        m.put(p + ".bias", new int[] {out});
    }
}
