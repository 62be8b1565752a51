package io.sdj.models.taesd;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.ops.Conv2d;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * TAESD encoder (madebyollin/taesd {@code Encoder(latent_channels)}, an {@code nn.Sequential}; weights keyed by
 * layer index as in {@code taesd_encoder.pth}): image [N, 3, H, W] in [0, 1] → UNet-space latents
 * [N, L, ⌈H/8⌉, ⌈W/8⌉]. Layers:
 * <pre>
 *  0 conv(3→64)  1 Block
 *  2 conv(stride 2, no bias)  3-5 Block×3
 *  6 conv(stride 2, no bias)  7-9 Block×3
 * 10 conv(stride 2, no bias) 11-13 Block×3
 * 14 conv(64→L)
 * </pre>
 * L is read from the last conv; blocks holding {@code pool.*} weights run their pool branch first ({@link TaesdBlock}).
 * The output of every layer is traced as {@code layer.i}.
 */
public final class TaesdEncoder {
    private static final int WIDTH = TaesdDecoder.WIDTH;
    private final int latentChannels;
    private final Conv2d first, last;
    private final Conv2d[] downConvs = new Conv2d[3];
    private final TaesdBlock[] blocks = new TaesdBlock[10];

    private TaesdEncoder(WeightSource w) {
        WeightTensorCheck.require(w, "14.weight", "TAESD encoder");
        latentChannels = w.get("14.weight").dim(0);
        first = new Conv2d(w.get("0.weight").requireShape(WIDTH, 3, 3, 3), w.get("0.bias"), 1, 1);
        blocks[0] = new TaesdBlock(w.at("1"), WIDTH, WIDTH);
        int b = 1;
        for (int stage = 0; stage < 3; stage++) {
            int base = 2 + 4 * stage;
            downConvs[stage] = new Conv2d(w.get(base + ".weight").requireShape(WIDTH, WIDTH, 3, 3), null, 2, 1);
            for (int j = 1; j <= 3; j++) blocks[b++] = new TaesdBlock(w.at(Integer.toString(base + j)), WIDTH, WIDTH);
        }
        last = new Conv2d(w.get("14.weight").requireShape(latentChannels, WIDTH, 3, 3), w.get("14.bias"), 1, 1);
    }

    public static TaesdEncoder load(WeightSource weights) {
        io.sdj.core.VectorSupport.require();
        return new TaesdEncoder(weights);
    }

    public int latentChannels() { return latentChannels; }

    /** Parameter names and shapes of {@code Encoder(latentChannels)}, in layer order (for synthetic weights). */
    public static Map<String, int[]> parameterShapes(int latentChannels) { return parameterShapes(latentChannels, false); }

    /** As {@link #parameterShapes(int)}; with {@code pool}, the blocks at latent resolution (11-13) have the pool branch. */
    public static Map<String, int[]> parameterShapes(int latentChannels, boolean pool) {
        Map<String, int[]> m = new LinkedHashMap<>();
        TaesdDecoder.conv(m, "0", WIDTH, 3, true);
        TaesdDecoder.block(m, "1");
        for (int stage = 0; stage < 3; stage++) {
            int base = 2 + 4 * stage;
            TaesdDecoder.conv(m, Integer.toString(base), WIDTH, WIDTH, false);
            for (int j = 1; j <= 3; j++) {
                TaesdDecoder.block(m, Integer.toString(base + j));
                if (pool && stage == 2) TaesdDecoder.pool(m, Integer.toString(base + j));
            }
        }
        TaesdDecoder.conv(m, "14", latentChannels, WIDTH, true);
        return m;
    }

    /** image [N, 3, H, W] → latents [N, L, ⌈H/8⌉, ⌈W/8⌉]. Does not release {@code x}. */
    public Tensor forward(Workspace ws, Tensor x, Trace trace) {
        if (x.rank() != 4 || x.dim(1) != 3) {
            throw new IllegalArgumentException("TAESD encoder: image must be [N, 3, H, W], got shape " + Arrays.toString(x.shape()));
        }
        Tensor h = first.forward(ws, x);
        trace.record("layer.0", h);
        Tensor next = blocks[0].forward(ws, h);
        ws.release(h);
        h = next;
        trace.record("layer.1", h);
        int b = 1;
        for (int stage = 0; stage < 3; stage++) {
            int base = 2 + 4 * stage;
            next = downConvs[stage].forward(ws, h);
            ws.release(h);
            h = next;
            trace.record("layer." + base, h);
            for (int j = 1; j <= 3; j++) {
                next = blocks[b++].forward(ws, h);
                ws.release(h);
                h = next;
                trace.record("layer." + (base + j), h);
            }
        }
        Tensor y = last.forward(ws, h);
        ws.release(h);
        trace.record("layer.14", y);
        return y;
    }
}
