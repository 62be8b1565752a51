package io.sdj.models.taesd;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.ops.Activation;
import io.sdj.ops.Activations;
import io.sdj.ops.Conv2d;
import io.sdj.ops.Elementwise;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * TAESD decoder (madebyollin/taesd {@code Decoder(latent_channels)}, an {@code nn.Sequential}; weights keyed by
 * layer index as in {@code taesd_decoder.pth}): UNet-space latents [N, L, h, w] → image [N, 3, 8h, 8w], about
 * [0, 1] and not clamped (callers clamp). Layers:
 * <pre>
 *  0 soft clamp 3·tanh(x/3)   1 conv(L→64) 2 ReLU
 *  3-5 Block×3   6 upsample 2×   7 conv(64→64, no bias)
 *  8-10 Block×3 11 upsample 2×  12 conv(no bias)
 * 13-15 Block×3 16 upsample 2×  17 conv(no bias)
 * 18 Block      19 conv(64→3)
 * </pre>
 * The latent channel count L is read from the first conv (4 for taesd/taesdxl, 16 for taesd3/taef1, 32 for taef2);
 * blocks holding {@code pool.*} weights (the blocks at latent resolution of releases built with
 * {@code use_midblock_gn}) run their pool branch first ({@link TaesdBlock}).
 * The output of every layer is traced as {@code layer.i}.
 */
public final class TaesdDecoder {
    static final int WIDTH = 64;
    private final int latentChannels;
    private final Conv2d first, last;
    private final Conv2d[] upConvs = new Conv2d[3];
    private final TaesdBlock[] blocks = new TaesdBlock[10];

    private TaesdDecoder(WeightSource w) {
        WeightTensorCheck.require(w, "1.weight", "TAESD decoder");
        latentChannels = w.get("1.weight").dim(1);
        first = new Conv2d(w.get("1.weight").requireShape(WIDTH, latentChannels, 3, 3), w.get("1.bias"), 1, 1);
        int b = 0;
        for (int stage = 0; stage < 3; stage++) {
            int base = 3 + 5 * stage;
            for (int j = 0; j < 3; j++) blocks[b++] = new TaesdBlock(w.at(Integer.toString(base + j)), WIDTH, WIDTH);
            upConvs[stage] = new Conv2d(w.get((base + 4) + ".weight").requireShape(WIDTH, WIDTH, 3, 3), null, 1, 1);
        }
        blocks[b] = new TaesdBlock(w.at("18"), WIDTH, WIDTH);
        last = new Conv2d(w.get("19.weight").requireShape(3, WIDTH, 3, 3), w.get("19.bias"), 1, 1);
    }

    public static TaesdDecoder load(WeightSource weights) {
        io.sdj.core.VectorSupport.require();
        return new TaesdDecoder(weights);
    }

    public int latentChannels() { return latentChannels; }

    /** Parameter names and shapes of {@code Decoder(latentChannels)}, in layer order (for synthetic weights). */
    public static Map<String, int[]> parameterShapes(int latentChannels) { return parameterShapes(latentChannels, false); }

    /** As {@link #parameterShapes(int)}; with {@code pool}, the blocks at latent resolution (3-5) have the pool branch. */
    public static Map<String, int[]> parameterShapes(int latentChannels, boolean pool) {
        Map<String, int[]> m = new LinkedHashMap<>();
        conv(m, "1", WIDTH, latentChannels, true);
        for (int stage = 0; stage < 3; stage++) {
            int base = 3 + 5 * stage;
            for (int j = 0; j < 3; j++) {
                block(m, Integer.toString(base + j));
                if (pool && stage == 0) pool(m, Integer.toString(base + j));
            }
            conv(m, Integer.toString(base + 4), WIDTH, WIDTH, false);
        }
        block(m, "18");
        conv(m, "19", 3, WIDTH, true);
        return m;
    }

    static void conv(Map<String, int[]> m, String name, int out, int in, boolean bias) {
        m.put(name + ".weight", new int[] {out, in, 3, 3});
        if (bias) m.put(name + ".bias", new int[] {out});
    }

    /** The pool branch of a block ({@code use_midblock_gn}): 1×1 conv to 4×, GroupNorm, ReLU, 1×1 conv back. */
    static void pool(Map<String, int[]> m, String name) {
        m.put(name + ".pool.0.weight", new int[] {4 * WIDTH, WIDTH, 1, 1});
        m.put(name + ".pool.1.weight", new int[] {4 * WIDTH});
        m.put(name + ".pool.1.bias", new int[] {4 * WIDTH});
        m.put(name + ".pool.3.weight", new int[] {WIDTH, 4 * WIDTH, 1, 1});
    }

    static void block(Map<String, int[]> m, String name) {
        for (int c = 0; c <= 4; c += 2) conv(m, name + ".conv." + c, WIDTH, WIDTH, true);
    }

    /** FLOPs (2 × multiply-adds) of one forward over n latents of h×w (pool branches included). */
    public long flops(int n, int h, int w) {
        long f = 2L * n * h * w * 9 * latentChannels * WIDTH;
        int b = 0;
        for (int stage = 0; stage < 3; stage++) {
            for (int j = 0; j < 3; j++) f += blocks[b++].flops(n, h, w);
            h *= 2;
            w *= 2;
            f += 2L * n * h * w * 9 * WIDTH * WIDTH;
        }
        f += blocks[b].flops(n, h, w);
        return f + 2L * n * h * w * 9 * WIDTH * 3;
    }

    /**
     * FLOPs (2 × multiply-adds of the convolutions) of {@code Decoder(latentChannels)} (without pool branches) over n
     * latents of h×w, without weights: conv(L→64), three stages of 3 blocks + 2× upsampling + conv, one block, conv(64→3). A block is three 3×3
     * convs 64→64 with an identity skip.
     */
    public static long flops(int latentChannels, int n, int h, int w) {
        long block = 3L * 9 * WIDTH * WIDTH;
        long f = 2L * n * h * w * 9 * latentChannels * WIDTH;
        for (int stage = 0; stage < 3; stage++) {
            f += 2L * n * h * w * 3 * block;
            h *= 2;
            w *= 2;
            f += 2L * n * h * w * 9 * WIDTH * WIDTH;
        }
        f += 2L * n * h * w * block;
        return f + 2L * n * h * w * 9 * WIDTH * 3;
    }

    /** Parameters of {@code Decoder(latentChannels)} (the sum over {@link #parameterShapes}). */
    public static long parameters(int latentChannels) {
        long p = 0;
        for (int[] s : parameterShapes(latentChannels).values()) {
            long e = 1;
            for (int d : s) e *= d;
            p += e;
        }
        return p;
    }

    /** latents [N, L, h, w] → image [N, 3, 8h, 8w]. Does not release {@code x}. */
    public Tensor forward(Workspace ws, Tensor x, Trace trace) {
        if (x.rank() != 4 || x.dim(1) != latentChannels) {
            throw new IllegalArgumentException("TAESD decoder: latents must be [N, " + latentChannels + ", h, w], got shape "
                    + Arrays.toString(x.shape()));
        }
        Tensor c = ws.take(x.shape());
        float[] src = x.data(), dst = c.data();
        for (int i = 0, n = x.numel(); i < n; i++) dst[i] = (float) Math.tanh(src[i] / 3f) * 3f;
        trace.record("layer.0", c);
        Tensor h = first.forward(ws, c);
        ws.release(c);
        trace.record("layer.1", h);
        Activations.applyInPlace(h, Activation.RELU);
        trace.record("layer.2", h);
        int b = 0;
        for (int stage = 0; stage < 3; stage++) {
            int base = 3 + 5 * stage;
            for (int j = 0; j < 3; j++) {
                Tensor next = blocks[b++].forward(ws, h);
                ws.release(h);
                h = next;
                trace.record("layer." + (base + j), h);
            }
            if (!trace.keepsActivations()) {
                // the upsampling read inside the conv (the 2× tensor is never written)
                Tensor next = upConvs[stage].forwardUpsampled(ws, h, 2);
                ws.release(h);
                h = next;
                trace.record("layer." + (base + 4), h);
                continue;
            }
            Tensor up = Elementwise.upsampleNearest(ws, h, 2 * h.dim(2), 2 * h.dim(3));
            ws.release(h);
            trace.record("layer." + (base + 3), up);
            h = upConvs[stage].forward(ws, up);
            ws.release(up);
            trace.record("layer." + (base + 4), h);
        }
        Tensor next = blocks[b].forward(ws, h);
        ws.release(h);
        trace.record("layer.18", next);
        Tensor y = last.forward(ws, next);
        ws.release(next);
        trace.record("layer.19", y);
        return y;
    }
}
