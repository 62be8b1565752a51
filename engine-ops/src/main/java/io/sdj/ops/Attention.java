package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

/**
 * Multi-head scaled dot-product attention over token-major tensors.
 * q [B, Tq, H·d], k [B, Tk, H·d], v [B, Tk, H·dv] → [B, Tq, H·dv]; head h uses channels [h·d, (h+1)·d).
 * {@link Kind#SOFTMAX}: softmax(Q·Kᵀ·s)·V. {@link Kind#RELU} (MobileDiffusion): (ReLU(Q·Kᵀ·s) / Tk)·V.
 * k and v may be the same tensor (shared key/value projection).
 */
public final class Attention {
    public enum Kind { SOFTMAX, RELU }

    private Attention() {}

    public static Tensor forward(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, Kind kind, boolean causal) {
        return forward(ws, q, k, v, heads, kind, causal, Float.NaN);
    }

    /** As above with an explicit score scale; NaN means 1/√d. */
    public static Tensor forward(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, Kind kind, boolean causal, float scale) {
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
        int cq = q.dim(2), cv = v.dim(2);
        float s = Float.isNaN(scale) ? (float) (1.0 / Math.sqrt(d)) : scale;
        Tensor out = ws.take(b, tq, cv);
        float[] qd = q.data(), kd = k.data(), vd = v.data(), od = out.data();
        io.sdj.core.Parallel.forEach(b * heads * tq, job -> {
            int i = job % tq, h = (job / tq) % heads, bb = job / (tq * heads);
            float[] scores = new float[tk];
            int qo = (bb * tq + i) * cq + h * d;
            int limit = causal ? Math.min(tk, i + 1) : tk;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < limit; j++) {
                int ko = (bb * tk + j) * cq + h * d;
                float dot = 0;
                for (int c = 0; c < d; c++) dot += qd[qo + c] * kd[ko + c];
                scores[j] = dot * s;
                max = Math.max(max, scores[j]);
            }
            float norm;
            if (kind == Kind.SOFTMAX) {
                float sum = 0;
                for (int j = 0; j < limit; j++) { scores[j] = (float) Math.exp(scores[j] - max); sum += scores[j]; }
                norm = 1f / sum;
            } else {
                for (int j = 0; j < limit; j++) scores[j] = Math.max(scores[j], 0f);
                norm = 1f / tk;
            }
            int oo = (bb * tq + i) * cv + h * dv;
            for (int c = 0; c < dv; c++) {
                float acc = 0;
                for (int j = 0; j < limit; j++) acc += scores[j] * vd[(bb * tk + j) * cv + h * dv + c];
                od[oo + c] = acc * norm;
            }
        });
        return out;
    }
}
