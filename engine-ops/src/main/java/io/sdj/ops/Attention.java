package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import jdk.incubator.vector.VectorSpecies;

/**
 * Multi-head scaled dot-product attention over token-major tensors.
 * q [B, Tq, H·d], k [B, Tk, H·d], v [B, Tk, H·dv] → [B, Tq, H·dv]; head h uses channels [h·d, (h+1)·d).
 * {@link Kind#SOFTMAX}: softmax(Q·Kᵀ·s)·V. {@link Kind#RELU} (MobileDiffusion): (ReLU(Q·Kᵀ·s) / Tk)·V.
 * k and v may be the same tensor (shared key/value projection). Causal: query i sees keys j ≤ i.
 * <p>Computed tiled, with an online softmax, memory O(tile) per thread, parallel over (batch, head, query tile) and
 * bit-identical for any thread count: non-causal softmax attention by {@link TransposedAttentionKernel} (vectors along
 * the queries), causal and ReLU attention by {@link AttentionKernel} (vectors along the keys); non-causal ReLU
 * attention with head size ≥ {@link #RELU_GEMM_MIN_HEAD_DIM} by {@link ReluAttention} (two GEMMs, no exponentials).
 */
public final class Attention {
    public enum Kind { SOFTMAX, RELU }

    private Attention() {}

    public static Tensor forward(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, Kind kind, boolean causal) {
        return forward(ws, q, k, v, heads, kind, causal, Float.NaN);
    }

    /**
     * Head size from which non-causal ReLU attention runs as two GEMMs ({@link ReluAttention}) instead of the tiled
     * kernel: the GEMMs' short-K first pass pays off once a head has enough channels.
     */
    static final int RELU_GEMM_MIN_HEAD_DIM = Integer.getInteger("sdj.attention.reluGemmMinHeadDim", 32);

    /** As above with an explicit score scale; NaN means 1/√d. */
    public static Tensor forward(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, Kind kind, boolean causal, float scale) {
        if (kind == Kind.RELU && !causal && heads >= 1 && q.rank() == 3 && q.dim(2) % heads == 0
                && q.dim(2) / heads >= RELU_GEMM_MIN_HEAD_DIM && k.rank() == 3 && k.dim(1) > 0) {
            float s = Float.isNaN(scale) ? (float) (1.0 / Math.sqrt(q.dim(2) / heads)) : scale;
            if (s > 0) return ReluAttention.forward(ws, q, k, v, heads, s);
        }
        return forward(ws, q, k, v, heads, kind, causal, scale, PREFERRED, PREFERRED_TRANSPOSED);
    }

    private static Tensor forward(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, Kind kind, boolean causal, float scale,
                                  Kernel tiled, Kernel transposed) {
        q.requireRank("attention q", 3);
        k.requireRank("attention k", 3);
        v.requireRank("attention v", 3);
        int b = q.dim(0), tq = q.dim(1), tk = k.dim(1);
        if (k.dim(0) != b || v.dim(0) != b || v.dim(1) != tk) {
            throw new IllegalArgumentException("attention: batch/length mismatch: q " + q + ", k " + k + ", v " + v);
        }
        if (heads < 1 || q.dim(2) % heads != 0 || v.dim(2) % heads != 0 || k.dim(2) != q.dim(2)) {
            throw new IllegalArgumentException("attention: " + heads + " heads do not fit q " + q + ", k " + k + ", v " + v);
        }
        int d = q.dim(2) / heads, dv = v.dim(2) / heads;
        if (d == 0 || (tk == 0 && tq > 0 && b > 0)) {
            throw new IllegalArgumentException("attention: no keys or zero head size: q " + q + ", k " + k + ", v " + v);
        }
        float s = Float.isNaN(scale) ? (float) (1.0 / Math.sqrt(d)) : scale;
        Tensor out = ws.take(b, tq, v.dim(2));
        if (b == 0 || tq == 0 || dv == 0) return out;
        Kernel kernel = kind == Kind.SOFTMAX && !causal ? transposed : tiled;
        kernel.forward(ws, q.data(), k.data(), v.data(), out.data(), b, tq, tk, heads, d, dv, kind == Kind.RELU, causal, s);
        return out;
    }

    /** A vector implementation behind {@link #forward}, one per species ({@link AttentionKernel}, {@link TransposedAttentionKernel}). */
    interface Kernel {
        void forward(Workspace ws, float[] q, float[] k, float[] v, float[] out, int batch, int tq, int tk, int heads,
                     int d, int dv, boolean relu, boolean causal, float scale);
    }

    private static final Kernel PREFERRED = new AttentionKernel(), PREFERRED_TRANSPOSED = new TransposedAttentionKernel();

    /** As {@link #forward(Workspace, Tensor, Tensor, Tensor, int, Kind, boolean, float)} with vectors of {@code species}. */
    static Tensor forward(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, Kind kind, boolean causal, float scale,
                          VectorSpecies<Float> species) {
        return forward(ws, q, k, v, heads, kind, causal, scale,
                SpeciesVariants.instance(AttentionKernel.class, Kernel.class, species),
                SpeciesVariants.instance(TransposedAttentionKernel.class, Kernel.class, species));
    }
}
