package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import java.lang.invoke.MethodHandles;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Tiled multi-head attention with an online softmax (flash-attention style), vectors along the keys; {@link Attention}
 * uses it for causal and ReLU attention ({@link TransposedAttentionKernel} takes the rest): no Tq×Tk score matrix is ever held,
 * each task keeps one query tile's scores against one key tile (MQ×NT floats) plus its output accumulators.
 * <p>K of each (batch, head) is packed once into panels of {@code 2·L} keys, channel-major ({@code [d][2L]}), so
 * S = Q·Kᵀ runs as a register-blocked outer-product GEMM (4 query rows × 2 vectors of keys, K = d); V is packed to
 * {@code [Tk][dvPad]} rows and P·V runs as a second GEMM (4 rows × up to 3 vectors of channels, K = key tile).
 * The softmax runs in base 2 (queries pre-scaled by s·log2 e, weights 2^(S − running max) by
 * {@link VectorMath#exp2NonPositive}), rescaling the accumulators when the running max grows. It takes a key tile's
 * rows in two passes ({@link #softmaxTile}): first every row's maximum and rescale factor, then the weights; so no
 * row waits for its own horizontal maximum before its exponentials, and each row's running sum stays a vector until
 * the end (no per-row horizontal sum).
 * Work is split over (batch, head, query tile); each output row is produced by one task in a fixed order, so the
 * result does not depend on the thread count.
 */
final class AttentionKernel implements Attention.Kernel {
    static final VectorSpecies<Float> SP = SpeciesVariants.species(MethodHandles.lookup());
    private static final int L = SP.length();
    private static final int PW = 2 * L;          // keys per packed panel
    private static final int R = 4;               // query rows per micro-kernel
    private static final int MQ = 64;             // query rows per tile (multiple of R)
    private static final int NT = Math.max(128, PW) / PW * PW; // keys per tile (multiple of PW)
    /**
     * P·V three vectors of channels at a time (12 accumulators) only with 32 vector registers; with 16, the 12
     * accumulators, 3 V vectors and the broadcasts do not fit and C2 keeps accumulators on the stack (see
     * {@link KernelVariant}), so two at a time. Each output element is summed in the same order either way.
     */
    private static final boolean PV3 = KernelVariant.registersFor(SP) >= 32;
    /** S = Q·Kᵀ two key panels at a time (16 accumulators) only with 32 vector registers, for the same reason. */
    private static final boolean SCORES2 = PV3;

    private static final float LOG2E = 1.44269504088896341f;
    private static final double LN2 = 0.6931471805599453;
    private static final ThreadLocal<float[][]> SCRATCH = new ThreadLocal<>();

    AttentionKernel() {}

    @Override
    public void forward(Workspace ws, float[] qd, float[] kd, float[] vd, float[] od, int batch, int tq, int tk,
                        int heads, int d, int dv, boolean relu, boolean causal, float scale) {
        int cq = heads * d, cv = heads * dv;
        int panels = (tk + PW - 1) / PW;
        int dvPad = (dv + L - 1) / L * L;
        int bh = batch * heads;
        int kpHead = panels * d * PW, vpHead = tk * dvPad;
        Tensor kp = ws.take(bh * kpHead), vp = ws.take(bh * vpHead);
        float[] kpd = kp.data(), vpd = vp.data();
        Parallel.forEach(bh, job -> {
            int b = job / heads, h = job % heads;
            packKeys(kd, kpd, job * kpHead, b, h, tk, cq, d, panels, PW);
            packValues(vd, vpd, job * vpHead, b, h, tk, cv, dv, dvPad);
        });
        int qTiles = (tq + MQ - 1) / MQ;
        Parallel.forRange(bh * qTiles, (from, to) -> {
            float[][] sc = scratch(d, dvPad);
            for (int job = from; job < to; job++) {
                int bhIdx = job / qTiles, qt = job % qTiles;
                int b = bhIdx / heads, h = bhIdx % heads;
                int i0 = qt * MQ, mq = Math.min(MQ, tq - i0);
                tile(sc, qd, kpd, bhIdx * kpHead, vpd, bhIdx * vpHead, od, b, h, i0, mq, tq, tk, cq, cv, d, dv, dvPad,
                        relu, causal, scale);
            }
        });
        ws.release(kp, vp);
    }

    private static float[][] scratch(int d, int dvPad) {
        float[][] s = SCRATCH.get();
        if (s == null || s[0].length < MQ * d || s[2].length < MQ * dvPad) {
            s = new float[][] {new float[MQ * Math.max(d, 64)], new float[MQ * NT], new float[MQ * Math.max(dvPad, 64)],
                    new float[MQ], new float[MQ * L], new float[MQ], new float[L]};
            SCRATCH.set(s);
        }
        return s;
    }

    /**
     * Keys of head h packed in groups of {@code width}, channel-major: kp[base + (g·d + c)·width + t] =
     * k[b, g·width + t, h·d + c], zero past tk (this kernel's panels of 2L keys, {@link TransposedAttentionKernel}'s
     * groups of six, or four with 16 vector registers).
     */
    static void packKeys(float[] kd, float[] kp, int base, int b, int h, int tk, int cq, int d, int groups, int width) {
        for (int g = 0; g < groups; g++) {
            int gb = base + g * d * width;
            for (int t = 0; t < width; t++) {
                int j = g * width + t;
                if (j < tk) {
                    int src = (b * tk + j) * cq + h * d;
                    for (int c = 0; c < d; c++) kp[gb + c * width + t] = kd[src + c];
                } else {
                    for (int c = 0; c < d; c++) kp[gb + c * width + t] = 0f;
                }
            }
        }
    }

    /** vp[base + j·dvPad + c] = v[b, j, h·dv + c], zero for c ≥ dv (padded to whole vectors). */
    private static void packValues(float[] vd, float[] vp, int base, int b, int h, int tk, int cv, int dv, int dvPad) {
        for (int j = 0; j < tk; j++) {
            int dst = base + j * dvPad;
            System.arraycopy(vd, (b * tk + j) * cv + h * dv, vp, dst, dv);
            for (int c = dv; c < dvPad; c++) vp[dst + c] = 0f;
        }
    }

    private static void tile(float[][] sc, float[] qd, float[] kp, int kpBase, float[] vp, int vpBase, float[] od,
                             int b, int h, int i0, int mq, int tq, int tk, int cq, int cv, int d, int dv, int dvPad,
                             boolean relu, boolean causal, float scale) {
        float[] qt = sc[0], s = sc[1], o = sc[2], m = sc[3], l = sc[4], alpha = sc[5], lanes = sc[6];
        // softmax works in base 2: scores carry log2(e) so that the weights are 2^(S − max), one op cheaper than e^x
        float qScale = relu ? scale : scale * LOG2E;
        int mqPad = (mq + R - 1) / R * R;
        for (int i = 0; i < mqPad; i++) {
            int dst = i * d;
            if (i < mq) {
                int src = (b * tq + i0 + i) * cq + h * d;
                for (int c = 0; c < d; c++) qt[dst + c] = qd[src + c] * qScale;
            } else {
                for (int c = 0; c < d; c++) qt[dst + c] = 0f;
            }
        }
        java.util.Arrays.fill(o, 0, mqPad * dvPad, 0f);
        java.util.Arrays.fill(m, 0, mqPad, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(l, 0, mqPad * L, 0f);
        int keyEnd = causal ? Math.min(tk, i0 + mq) : tk;
        for (int j0 = 0; j0 < keyEnd; j0 += NT) {
            int nt = Math.min(NT, keyEnd - j0);
            int ntPanels = (nt + PW - 1) / PW;
            int p = 0;
            for (; SCORES2 && p + 2 <= ntPanels; p += 2) {
                for (int r = 0; r < mqPad; r += R) scores2(qt, r * d, d, kp, kpBase + (j0 / PW + p) * d * PW, s, r * NT + p * PW);
            }
            for (; p < ntPanels; p++) {
                for (int r = 0; r < mqPad; r += R) scores(qt, r * d, d, kp, kpBase + (j0 / PW + p) * d * PW, s, r * NT + p * PW);
            }
            // causal: row i sees keys up to i0 + i
            int validShift = causal ? i0 + 1 - j0 : Integer.MAX_VALUE / 2;
            if (relu) {
                for (int i = 0; i < mqPad; i++) reluRow(s, i * NT, valid(i, validShift, nt), nt);
            } else {
                softmaxTile(s, mqPad, validShift, nt, m, l, alpha);
            }
            for (int r = 0; r < mqPad; r += R) {
                int c = 0;
                for (; PV3 && c + 3 * L <= dvPad; c += 3 * L) pv3(s, r * NT, nt, vp, vpBase + j0 * dvPad + c, dvPad, o, r * dvPad + c, dvPad, alpha, r, relu);
                for (; c + 2 * L <= dvPad; c += 2 * L) pv2(s, r * NT, nt, vp, vpBase + j0 * dvPad + c, dvPad, o, r * dvPad + c, dvPad, alpha, r, relu);
                for (; c < dvPad; c += L) pv1(s, r * NT, nt, vp, vpBase + j0 * dvPad + c, dvPad, o, r * dvPad + c, dvPad, alpha, r, relu);
            }
        }
        for (int i = 0; i < mq; i++) {
            float inv = relu ? 1f / tk : 1f / VectorMath.sumLanes(FloatVector.fromArray(SP, l, i * L), lanes);
            int src = i * dvPad, dst = (b * tq + i0 + i) * cv + h * dv;
            int c = 0;
            for (; c + L <= dv; c += L) FloatVector.fromArray(SP, o, src + c).mul(inv).intoArray(od, dst + c);
            for (; c < dv; c++) od[dst + c] = o[src + c] * inv;
        }
    }

    /** s[R rows × 2L] = qt[R rows × d] · panel[d × 2L]. */
    private static void scores(float[] qt, int qo, int d, float[] kp, int ko, float[] s, int so) {
        FloatVector a00 = FloatVector.zero(SP), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int c = 0; c < d; c++) {
            FloatVector k0 = FloatVector.fromArray(SP, kp, ko + c * PW);
            FloatVector k1 = FloatVector.fromArray(SP, kp, ko + c * PW + L);
            FloatVector q0 = FloatVector.broadcast(SP, qt[qo + c]);
            a00 = q0.fma(k0, a00); a01 = q0.fma(k1, a01);
            FloatVector q1 = FloatVector.broadcast(SP, qt[qo + d + c]);
            a10 = q1.fma(k0, a10); a11 = q1.fma(k1, a11);
            FloatVector q2 = FloatVector.broadcast(SP, qt[qo + 2 * d + c]);
            a20 = q2.fma(k0, a20); a21 = q2.fma(k1, a21);
            FloatVector q3 = FloatVector.broadcast(SP, qt[qo + 3 * d + c]);
            a30 = q3.fma(k0, a30); a31 = q3.fma(k1, a31);
        }
        a00.intoArray(s, so); a01.intoArray(s, so + L);
        a10.intoArray(s, so + NT); a11.intoArray(s, so + NT + L);
        a20.intoArray(s, so + 2 * NT); a21.intoArray(s, so + 2 * NT + L);
        a30.intoArray(s, so + 3 * NT); a31.intoArray(s, so + 3 * NT + L);
    }

    /** s[R rows × 4L] = qt[R rows × d] · (panel, next panel)[d × 2L each]. */
    private static void scores2(float[] qt, int qo, int d, float[] kp, int ko, float[] s, int so) {
        FloatVector z = FloatVector.zero(SP);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int next = d * PW;
        for (int c = 0; c < d; c++) {
            int kc = ko + c * PW;
            FloatVector k0 = FloatVector.fromArray(SP, kp, kc), k1 = FloatVector.fromArray(SP, kp, kc + L);
            FloatVector k2 = FloatVector.fromArray(SP, kp, kc + next), k3 = FloatVector.fromArray(SP, kp, kc + next + L);
            FloatVector q0 = FloatVector.broadcast(SP, qt[qo + c]);
            a00 = q0.fma(k0, a00); a01 = q0.fma(k1, a01); a02 = q0.fma(k2, a02); a03 = q0.fma(k3, a03);
            FloatVector q1 = FloatVector.broadcast(SP, qt[qo + d + c]);
            a10 = q1.fma(k0, a10); a11 = q1.fma(k1, a11); a12 = q1.fma(k2, a12); a13 = q1.fma(k3, a13);
            FloatVector q2 = FloatVector.broadcast(SP, qt[qo + 2 * d + c]);
            a20 = q2.fma(k0, a20); a21 = q2.fma(k1, a21); a22 = q2.fma(k2, a22); a23 = q2.fma(k3, a23);
            FloatVector q3 = FloatVector.broadcast(SP, qt[qo + 3 * d + c]);
            a30 = q3.fma(k0, a30); a31 = q3.fma(k1, a31); a32 = q3.fma(k2, a32); a33 = q3.fma(k3, a33);
        }
        a00.intoArray(s, so); a01.intoArray(s, so + L); a02.intoArray(s, so + 2 * L); a03.intoArray(s, so + 3 * L);
        so += NT;
        a10.intoArray(s, so); a11.intoArray(s, so + L); a12.intoArray(s, so + 2 * L); a13.intoArray(s, so + 3 * L);
        so += NT;
        a20.intoArray(s, so); a21.intoArray(s, so + L); a22.intoArray(s, so + 2 * L); a23.intoArray(s, so + 3 * L);
        so += NT;
        a30.intoArray(s, so); a31.intoArray(s, so + L); a32.intoArray(s, so + 2 * L); a33.intoArray(s, so + 3 * L);
    }

    /** P = ReLU(S) on the valid keys, 0 on the rest of the tile. */
    private static void reluRow(float[] s, int o, int valid, int nt) {
        int j = 0;
        for (; j + L <= valid; j += L) FloatVector.fromArray(SP, s, o + j).max(0f).intoArray(s, o + j);
        for (; j < valid; j++) s[o + j] = Math.max(s[o + j], 0f);
        for (; j < nt; j++) s[o + j] = 0f;
    }

    /** Keys of the tile row {@code i} attends to: min(nt, i + shift), at least 0. */
    private static int valid(int i, int shift, int nt) {
        return Math.max(0, Math.min(nt, i + shift));
    }

    /**
     * Online softmax step for the tile's rows (base-2 scores): row i's running max m[i] and its running sum, kept as
     * a vector l[i·L ..], are updated, alpha[i] gets the factor that rescales its earlier output (1 when the max
     * stays), and its scores become P = 2^(S − m) on its valid keys (0 on the rest of the tile).
     */
    private static void softmaxTile(float[] s, int rows, int validShift, int nt, float[] m, float[] l, float[] alpha) {
        // first every row's maximum and rescale factor (rows independent, so their horizontal maxima overlap); the
        // running max of a row grows in only a few of its key tiles, so the scalar exp is rare
        for (int i = 0; i < rows; i++) {
            float max = rowMax(s, i * NT, valid(i, validShift, nt)), mOld = m[i];
            if (max > mOld) {
                alpha[i] = mOld == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp((mOld - max) * LN2);
                m[i] = max;
            } else {
                alpha[i] = 1f;
            }
        }
        for (int i = 0; i < rows; i++) {
            int o = i * NT, valid = valid(i, validShift, nt);
            rowWeights(s, o, valid, m[i], l, i * L, alpha[i]);
            for (int j = valid == 0 ? 0 : (valid + L - 1) / L * L; j < nt; j++) s[o + j] = 0f;
        }
    }

    /** Largest score of the row's first {@code valid} keys (−∞ for none). */
    private static float rowMax(float[] s, int o, int valid) {
        int full = valid / L * L;
        FloatVector max = FloatVector.broadcast(SP, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < full; j += L) max = max.max(FloatVector.fromArray(SP, s, o + j));
        // whole vectors over [0, valid) rounded up (the tile has room up to NT); lanes ≥ valid are masked out
        if (full < valid) max = max.max(FloatVector.fromArray(SP, s, o + full).blend(Float.NEGATIVE_INFINITY, SP.indexInRange(full, valid).not()));
        return max.reduceLanes(VectorOperators.MAX); // exact in any order
    }

    /**
     * P = 2^(S − max) on the row's first {@code valid} keys, in place (lanes past them in the last vector 0), and the
     * running sum {@code l[at ..] = α·l + Σ P} lane-wise, in a fixed order. Two exponential call sites only: each
     * inlined copy costs C2 nodes, and with four of them C2 stopped inlining one (boxing its vectors); a tail inside
     * the loop (one site) made the vector a loop phi, which measured slower still.
     */
    private static void rowWeights(float[] s, int o, int valid, float max, float[] l, int at, float alpha) {
        int full = valid / L * L;
        FloatVector sum = FloatVector.zero(SP);
        for (int j = 0; j < full; j += L) {
            FloatVector p = VectorMath.exp2NonPositive(FloatVector.fromArray(SP, s, o + j).sub(max));
            p.intoArray(s, o + j);
            sum = sum.add(p);
        }
        if (full < valid) {
            FloatVector p = VectorMath.exp2NonPositive(FloatVector.fromArray(SP, s, o + full).sub(max))
                    .blend(0f, SP.indexInRange(full, valid).not());
            p.intoArray(s, o + full);
            sum = sum.add(p);
        }
        FloatVector.fromArray(SP, l, at).fma(FloatVector.broadcast(SP, alpha), sum).intoArray(l, at);
    }

    /** o[4 rows × 3L] = α·o + p[4 rows × nt] · v[nt × 3L]. */
    private static void pv3(float[] p, int po, int nt, float[] v, int vo, int vStride, float[] o, int oo, int oStride,
                            float[] alpha, int r, boolean relu) {
        FloatVector z = FloatVector.zero(SP);
        FloatVector a00 = z, a01 = z, a02 = z, a10 = z, a11 = z, a12 = z, a20 = z, a21 = z, a22 = z, a30 = z, a31 = z, a32 = z;
        for (int j = 0; j < nt; j++) {
            int vj = vo + j * vStride;
            FloatVector v0 = FloatVector.fromArray(SP, v, vj);
            FloatVector v1 = FloatVector.fromArray(SP, v, vj + L);
            FloatVector v2 = FloatVector.fromArray(SP, v, vj + 2 * L);
            FloatVector p0 = FloatVector.broadcast(SP, p[po + j]);
            a00 = p0.fma(v0, a00); a01 = p0.fma(v1, a01); a02 = p0.fma(v2, a02);
            FloatVector p1 = FloatVector.broadcast(SP, p[po + NT + j]);
            a10 = p1.fma(v0, a10); a11 = p1.fma(v1, a11); a12 = p1.fma(v2, a12);
            FloatVector p2 = FloatVector.broadcast(SP, p[po + 2 * NT + j]);
            a20 = p2.fma(v0, a20); a21 = p2.fma(v1, a21); a22 = p2.fma(v2, a22);
            FloatVector p3 = FloatVector.broadcast(SP, p[po + 3 * NT + j]);
            a30 = p3.fma(v0, a30); a31 = p3.fma(v1, a31); a32 = p3.fma(v2, a32);
        }
        store(o, oo, a00, relu ? 1f : alpha[r]); store(o, oo + L, a01, relu ? 1f : alpha[r]); store(o, oo + 2 * L, a02, relu ? 1f : alpha[r]);
        oo += oStride;
        store(o, oo, a10, relu ? 1f : alpha[r + 1]); store(o, oo + L, a11, relu ? 1f : alpha[r + 1]); store(o, oo + 2 * L, a12, relu ? 1f : alpha[r + 1]);
        oo += oStride;
        store(o, oo, a20, relu ? 1f : alpha[r + 2]); store(o, oo + L, a21, relu ? 1f : alpha[r + 2]); store(o, oo + 2 * L, a22, relu ? 1f : alpha[r + 2]);
        oo += oStride;
        store(o, oo, a30, relu ? 1f : alpha[r + 3]); store(o, oo + L, a31, relu ? 1f : alpha[r + 3]); store(o, oo + 2 * L, a32, relu ? 1f : alpha[r + 3]);
    }

    private static void pv2(float[] p, int po, int nt, float[] v, int vo, int vStride, float[] o, int oo, int oStride,
                            float[] alpha, int r, boolean relu) {
        FloatVector z = FloatVector.zero(SP);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        for (int j = 0; j < nt; j++) {
            int vj = vo + j * vStride;
            FloatVector v0 = FloatVector.fromArray(SP, v, vj);
            FloatVector v1 = FloatVector.fromArray(SP, v, vj + L);
            FloatVector p0 = FloatVector.broadcast(SP, p[po + j]);
            a00 = p0.fma(v0, a00); a01 = p0.fma(v1, a01);
            FloatVector p1 = FloatVector.broadcast(SP, p[po + NT + j]);
            a10 = p1.fma(v0, a10); a11 = p1.fma(v1, a11);
            FloatVector p2 = FloatVector.broadcast(SP, p[po + 2 * NT + j]);
            a20 = p2.fma(v0, a20); a21 = p2.fma(v1, a21);
            FloatVector p3 = FloatVector.broadcast(SP, p[po + 3 * NT + j]);
            a30 = p3.fma(v0, a30); a31 = p3.fma(v1, a31);
        }
        store(o, oo, a00, relu ? 1f : alpha[r]); store(o, oo + L, a01, relu ? 1f : alpha[r]);
        oo += oStride;
        store(o, oo, a10, relu ? 1f : alpha[r + 1]); store(o, oo + L, a11, relu ? 1f : alpha[r + 1]);
        oo += oStride;
        store(o, oo, a20, relu ? 1f : alpha[r + 2]); store(o, oo + L, a21, relu ? 1f : alpha[r + 2]);
        oo += oStride;
        store(o, oo, a30, relu ? 1f : alpha[r + 3]); store(o, oo + L, a31, relu ? 1f : alpha[r + 3]);
    }

    private static void pv1(float[] p, int po, int nt, float[] v, int vo, int vStride, float[] o, int oo, int oStride,
                            float[] alpha, int r, boolean relu) {
        FloatVector z = FloatVector.zero(SP);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
        for (int j = 0; j < nt; j++) {
            FloatVector v0 = FloatVector.fromArray(SP, v, vo + j * vStride);
            a0 = FloatVector.broadcast(SP, p[po + j]).fma(v0, a0);
            a1 = FloatVector.broadcast(SP, p[po + NT + j]).fma(v0, a1);
            a2 = FloatVector.broadcast(SP, p[po + 2 * NT + j]).fma(v0, a2);
            a3 = FloatVector.broadcast(SP, p[po + 3 * NT + j]).fma(v0, a3);
        }
        store(o, oo, a0, relu ? 1f : alpha[r]);
        store(o, oo + oStride, a1, relu ? 1f : alpha[r + 1]);
        store(o, oo + 2 * oStride, a2, relu ? 1f : alpha[r + 2]);
        store(o, oo + 3 * oStride, a3, relu ? 1f : alpha[r + 3]);
    }

    /** o ← α·o + acc. */
    private static void store(float[] o, int at, FloatVector acc, float a) {
        FloatVector.fromArray(SP, o, at).fma(FloatVector.broadcast(SP, a), acc).intoArray(o, at);
    }
}
