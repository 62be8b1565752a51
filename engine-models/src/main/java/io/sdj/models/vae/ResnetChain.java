package io.sdj.models.vae;

import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.blocks.ResnetBlock2D;

/**
 * The resnets that open a VAE encoder or decoder block: {@code resnets.0 … resnets.(layers−1)}, the first from
 * {@code in} to {@code out} channels, the others {@code out → out}, without a time embedding.
 */
final class ResnetChain {
    private final ResnetBlock2D[] resnets;

    ResnetChain(WeightSource w, int in, int out, int layers, int groups) {
        resnets = new ResnetBlock2D[layers];
        for (int i = 0; i < layers; i++) {
            resnets[i] = new ResnetBlock2D(w.at("resnets." + i), i == 0 ? in : out, out, 0, groups, VaeConfig.NORM_EPS, 1f);
        }
    }

    /** Multiply-adds × 2 of the convolutions for an input of n × h × w pixels. */
    long flops(int n, int h, int w) {
        long f = 0;
        for (ResnetBlock2D r : resnets) f += r.flops(n, h, w);
        return f;
    }

    /** Does not release {@code x}; returns {@code x} itself when there are no resnets. */
    Tensor forward(Workspace ws, Tensor x) {
        Tensor h = x;
        for (ResnetBlock2D r : resnets) {
            Tensor next = r.forward(ws, h, null);
            if (h != x) ws.release(h);
            h = next;
        }
        return h;
    }
}
