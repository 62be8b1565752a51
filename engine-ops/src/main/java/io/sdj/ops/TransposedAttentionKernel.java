package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import java.lang.invoke.MethodHandles;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax attention (not causal) with the vectors along the query rows: a tile of {@link #MQ} = 4·L queries keeps its
 * scores transposed, {@code s[key][query]}, and its output transposed, {@code o[channel][query]}.
 * <p>Against {@link AttentionKernel} (vectors along the keys and the channels):
 * <ul>
 * <li>the online softmax needs no horizontal operation: a key tile's maximum and sum per query are vertical maxima
 *     and sums of whole vectors (a rescale factor is a scalar exponential, for the queries whose maximum grew);</li>
 * <li>P·V loops over the channels, so a head of 40 channels costs 40 and not 48 (three vectors of 16);</li>
 * <li>S = Q·Kᵀ broadcasts keys (packed per head in groups of {@link #KG}, channel-major) against vectors of Qᵀ; P·V
 *     broadcasts V (packed per head in groups of four channels, key-major) against vectors of Pᵀ.</li>
 * <li>With 32 registers the scores take 6 keys × 4 query vectors (24 accumulators); 4 × 4 (16) ran at about 0.9 of
 *     its speed, 8 keys × 2 vectors no faster than 4 × 4. P·V takes 8 channels × 2 query vectors (16 accumulators):
 *     per key two vector loads of Pᵀ and eight broadcasts. Its first form, 4 channels × 4 query vectors, loaded four
 *     vectors per key and ran at 0.85 of this one's speed on operands in L1 (about 145 against 170 GFLOP/s on one
 *     core of the AVX-512 host).</li>
 * </ul>
 * The queries are transposed into the tile once, the output back once per tile. Work is split over (batch, head,
 * query tile) and every output row is computed in one fixed order, so results do not depend on the thread count.
 * Causal and ReLU attention stay with {@link AttentionKernel}.
 */
final class TransposedAttentionKernel implements Attention.Kernel {
    static final VectorSpecies<Float> SP = SpeciesVariants.species(MethodHandles.lookup());
    private static final int L = SP.length();
    /** Query rows per tile: four vectors. */
    private static final int MQ = 4 * L;
    /**
     * With 32 vector registers the score micro-kernel takes 6 keys × 4 query vectors (24 accumulators) and P·V 8
     * channels × 2 query vectors (16); with 16, 2 keys or 2 channels × 4 query vectors (8 accumulators), as
     * {@link AttentionKernel} does for the same reason.
     */
    private static final boolean WIDE = KernelVariant.registersFor(SP) >= 32;
    /** Keys per packed group of K: one score micro-kernel with 32 registers, two with 16. */
    private static final int KG = WIDE ? 6 : 4;
    /** Keys per tile: whole groups of K, about 128. */
    private static final int NT = 128 / KG * KG;
    /** Channels per packed group of V. */
    private static final int VG = 4;
    /** Channels per P·V micro-kernel: two groups of {@link #VG} with 32 registers, one with 16. */
    private static final int CG = WIDE ? 2 * VG : VG;

    private static final float LOG2E = 1.44269504088896341f;
    private static final double LN2 = 0.6931471805599453;
    private static final ThreadLocal<float[][]> SCRATCH = new ThreadLocal<>();
    /**
     * Whether the tile's transposes gather: with 256- and 512-bit vectors (AVX2 and AVX-512 have gather instructions,
     * as for {@link GemmKernel}'s packing); 128-bit variants (SSE, NEON) copy element by element.
     */
    private static final boolean GATHER = L >= 8;
    /** Lane i of a gather from Oᵀ: i rows of {@link #MQ} further (one channel further). */
    private static final int[] CHANNEL_ROWS = IntStream.range(0, L).map(i -> i * MQ).toArray();

    TransposedAttentionKernel() {}

    @Override
    public void forward(Workspace ws, float[] qd, float[] kd, float[] vd, float[] od, int batch, int tq, int tk,
                        int heads, int d, int dv, boolean relu, boolean causal, float scale) {
        if (relu || causal) throw new IllegalArgumentException("transposed attention kernel: softmax, not causal, only");
        int cq = heads * d, cv = heads * dv;
        int groups = (tk + KG - 1) / KG;
        int bh = batch * heads;
        int kpHead = groups * d * KG;
        int dvp = (dv + CG - 1) / CG * CG, vpHead = dvp * tk;
        Tensor kp = ws.take(bh * kpHead), vp = ws.take(bh * vpHead);
        float[] kpd = kp.data(), vpd = vp.data();
        Parallel.forEach(bh, job -> {
            int b = job / heads, h = job % heads;
            AttentionKernel.packKeys(kd, kpd, job * kpHead, b, h, tk, cq, d, groups, KG);
            packValues(vd, vpd, job * vpHead, b, h, tk, cv, dv, dvp);
        });
        int qTiles = (tq + MQ - 1) / MQ;
        float qScale = scale * LOG2E;   // base-2 softmax: weights 2^(S − max)
        int[] queryRows = new int[L];   // lane i of a gather from the queries: i rows further
        for (int i = 0; i < L; i++) queryRows[i] = i * cq;
        Parallel.forRange(bh * qTiles, (from, to) -> {
            float[][] sc = scratch(d, dvp);
            for (int job = from; job < to; job++) {
                int bhIdx = job / qTiles, qt = job % qTiles;
                int b = bhIdx / heads, h = bhIdx % heads;
                tile(sc, qd, queryRows, kpd, bhIdx * kpHead, vpd, bhIdx * vpHead, od, b, h, qt * MQ, tq, tk, cq, cv, d, dv,
                        dvp, qScale);
            }
        });
        ws.release(kp, vp);
    }

    /**
     * Values of head h in groups of {@link #VG} channels, key-major: vp[base + (g·tk + j)·VG + t] = v[b, j, h·dv + g·VG + t],
     * zero for channels past dv (up to dvp, dv rounded up to whole micro-kernels).
     */
    static void packValues(float[] vd, float[] vp, int base, int b, int h, int tk, int cv, int dv, int dvp) {
        for (int c0 = 0; c0 < dvp; c0 += VG) {
            int gb = base + c0 * tk, src = b * tk * cv + h * dv + c0;
            if (c0 + VG <= dv) {
                for (int j = 0, o = gb; j < tk; j++, src += cv, o += VG)
                    for (int t = 0; t < VG; t++) vp[o + t] = vd[src + t];
            } else {
                for (int j = 0, o = gb; j < tk; j++, src += cv, o += VG)
                    for (int t = 0; t < VG; t++) vp[o + t] = c0 + t < dv ? vd[src + t] : 0f;
            }
        }
    }

    private static float[][] scratch(int d, int dvp) {
        float[][] s = SCRATCH.get();
        if (s == null || s[0].length < d * MQ || s[2].length < dvp * MQ) {
            s = new float[][] {new float[Math.max(d, 64) * MQ], new float[NT * MQ], new float[Math.max(dvp, 64) * MQ],
                    new float[MQ], new float[MQ], new float[MQ]};
            SCRATCH.set(s);
        }
        return s;
    }

    private static void tile(float[][] sc, float[] qd, int[] queryRows, float[] kp, int kpBase, float[] vp, int vpBase,
                             float[] od, int b, int h, int i0, int tq, int tk, int cq, int cv, int d, int dv, int dvp,
                             float qScale) {
        float[] qt = sc[0], s = sc[1], o = sc[2], m = sc[3], l = sc[4], alpha = sc[5];
        int mq = Math.min(MQ, tq - i0);
        transposeQueries(qd, queryRows, qt, (b * tq + i0) * cq + h * d, mq, cq, d, qScale);
        java.util.Arrays.fill(o, 0, dvp * MQ, 0f);
        java.util.Arrays.fill(m, 0, MQ, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(l, 0, MQ, 0f);
        int vHead = h * dv;
        for (int j0 = 0; j0 < tk; j0 += NT) {
            int nt = Math.min(NT, tk - j0);
            int groups = (nt + KG - 1) / KG;
            for (int g = 0; g < groups; g++) {
                int ko = kpBase + (j0 / KG + g) * d * KG, so = g * KG * MQ;
                if (WIDE) scores6(qt, d, kp, ko, s, so);
                else {
                    scores2(qt, d, kp, ko, s, so);
                    scores2(qt, d, kp, ko + 2, s, so + 2 * MQ);
                }
            }
            softmax(s, nt, m, l, alpha);
            for (int c = 0; c < dvp; c += CG) {
                int vo = vpBase + (c * tk + j0 * VG);   // group c / VG, key j0
                if (WIDE) {
                    pv8(s, nt, vp, vo, VG * tk, o, c * MQ, alpha, 0);
                    pv8(s, nt, vp, vo, VG * tk, o, c * MQ, alpha, 2 * L);
                } else {
                    pv2(s, nt, vp, vo, o, c * MQ, alpha);
                    pv2(s, nt, vp, vo + 2, o, (c + 2) * MQ, alpha);
                }
            }
        }
        transposeOutput(o, l, od, (b * tq + i0) * cv + vHead, mq, cv, dv);
    }

    /**
     * Qᵀ of a tile: qt[c·MQ + r] = q[src + r·cq + c]·qScale for its {@code mq} query rows, 0 for the rows past them
     * (their results are dropped). A full tile gathers each channel's column a vector of rows at a time ({@code
     * queryRows}: lane i at i·cq), 2.5× faster than the scalar copy, whose stores each went to another line of qt
     * (where the vectors are 256 or 512 bits wide, see {@link #GATHER}).
     */
    private static void transposeQueries(float[] qd, int[] queryRows, float[] qt, int src, int mq, int cq, int d,
                                         float qScale) {
        if (GATHER && mq == MQ) {
            for (int r0 = 0; r0 < MQ; r0 += L, src += L * cq)
                for (int c = 0; c < d; c++)
                    FloatVector.fromArray(SP, qd, src + c, queryRows, 0).mul(qScale).intoArray(qt, c * MQ + r0);
            return;
        }
        for (int r = 0; r < MQ; r++, src += cq) {
            if (r < mq) {
                for (int c = 0; c < d; c++) qt[c * MQ + r] = qd[src + c] * qScale;
            } else {
                for (int c = 0; c < d; c++) qt[c * MQ + r] = 0f;
            }
        }
    }

    /**
     * Out of Oᵀ into the output rows: od[dst + r·cv + c] = o[c·MQ + r] · (1 / l[r]) for the tile's {@code mq} rows,
     * a row gathering a vector of channels at a time ({@link #CHANNEL_ROWS}: lane i at i·MQ), the last one masked
     * (where the vectors are 256 or 512 bits wide, see {@link #GATHER}; element by element otherwise).
     */
    private static void transposeOutput(float[] o, float[] l, float[] od, int dst, int mq, int cv, int dv) {
        if (!GATHER) {
            for (int r = 0; r < mq; r++, dst += cv) {
                float inv = 1f / l[r];
                for (int c = 0; c < dv; c++) od[dst + c] = o[c * MQ + r] * inv;
            }
            return;
        }
        int full = dv - dv % L;
        VectorMask<Float> tail = SP.indexInRange(full, dv);
        for (int r = 0; r < mq; r++, dst += cv) {
            float inv = 1f / l[r];
            int c = 0;
            for (; c < full; c += L) FloatVector.fromArray(SP, o, c * MQ + r, CHANNEL_ROWS, 0).mul(inv).intoArray(od, dst + c);
            if (c < dv) FloatVector.fromArray(SP, o, c * MQ + r, CHANNEL_ROWS, 0, tail).mul(inv).intoArray(od, dst + c, tail);
        }
    }

    /**
     * s[t·MQ + r] = Σ_c qt[c·MQ + r] · kp[ko + c·KG + t] for the group's 6 keys t and all MQ rows. Six keys (24
     * accumulators) and not four (16): at head dim 40, with K streamed from L2 as in a 4096-key call, about 1.1× the
     * rate of the four-key form (150–160 against 135–145 GFLOP/s on one core of the AVX-512 host).
     */
    private static void scores6(float[] qt, int d, float[] kp, int ko, float[] s, int so) {
        FloatVector z = FloatVector.zero(SP);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        FloatVector a40 = z, a41 = z, a42 = z, a43 = z, a50 = z, a51 = z, a52 = z, a53 = z;
        for (int c = 0; c < d; c++) {
            int qc = c * MQ, kc = ko + c * KG;
            FloatVector q0 = FloatVector.fromArray(SP, qt, qc), q1 = FloatVector.fromArray(SP, qt, qc + L);
            FloatVector q2 = FloatVector.fromArray(SP, qt, qc + 2 * L), q3 = FloatVector.fromArray(SP, qt, qc + 3 * L);
            FloatVector k = FloatVector.broadcast(SP, kp[kc]);
            a00 = k.fma(q0, a00); a01 = k.fma(q1, a01); a02 = k.fma(q2, a02); a03 = k.fma(q3, a03);
            k = FloatVector.broadcast(SP, kp[kc + 1]);
            a10 = k.fma(q0, a10); a11 = k.fma(q1, a11); a12 = k.fma(q2, a12); a13 = k.fma(q3, a13);
            k = FloatVector.broadcast(SP, kp[kc + 2]);
            a20 = k.fma(q0, a20); a21 = k.fma(q1, a21); a22 = k.fma(q2, a22); a23 = k.fma(q3, a23);
            k = FloatVector.broadcast(SP, kp[kc + 3]);
            a30 = k.fma(q0, a30); a31 = k.fma(q1, a31); a32 = k.fma(q2, a32); a33 = k.fma(q3, a33);
            k = FloatVector.broadcast(SP, kp[kc + 4]);
            a40 = k.fma(q0, a40); a41 = k.fma(q1, a41); a42 = k.fma(q2, a42); a43 = k.fma(q3, a43);
            k = FloatVector.broadcast(SP, kp[kc + 5]);
            a50 = k.fma(q0, a50); a51 = k.fma(q1, a51); a52 = k.fma(q2, a52); a53 = k.fma(q3, a53);
        }
        a00.intoArray(s, so); a01.intoArray(s, so + L); a02.intoArray(s, so + 2 * L); a03.intoArray(s, so + 3 * L);
        so += MQ;
        a10.intoArray(s, so); a11.intoArray(s, so + L); a12.intoArray(s, so + 2 * L); a13.intoArray(s, so + 3 * L);
        so += MQ;
        a20.intoArray(s, so); a21.intoArray(s, so + L); a22.intoArray(s, so + 2 * L); a23.intoArray(s, so + 3 * L);
        so += MQ;
        a30.intoArray(s, so); a31.intoArray(s, so + L); a32.intoArray(s, so + 2 * L); a33.intoArray(s, so + 3 * L);
        so += MQ;
        a40.intoArray(s, so); a41.intoArray(s, so + L); a42.intoArray(s, so + 2 * L); a43.intoArray(s, so + 3 * L);
        so += MQ;
        a50.intoArray(s, so); a51.intoArray(s, so + L); a52.intoArray(s, so + 2 * L); a53.intoArray(s, so + 3 * L);
    }

    /** {@link #scores6} for two keys of a group (16 registers): kp[ko + c·KG + t], t = 0, 1. */
    private static void scores2(float[] qt, int d, float[] kp, int ko, float[] s, int so) {
        FloatVector z = FloatVector.zero(SP);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        for (int c = 0; c < d; c++) {
            int qc = c * MQ, kc = ko + c * KG;
            FloatVector q0 = FloatVector.fromArray(SP, qt, qc), q1 = FloatVector.fromArray(SP, qt, qc + L);
            FloatVector q2 = FloatVector.fromArray(SP, qt, qc + 2 * L), q3 = FloatVector.fromArray(SP, qt, qc + 3 * L);
            FloatVector k = FloatVector.broadcast(SP, kp[kc]);
            a00 = k.fma(q0, a00); a01 = k.fma(q1, a01); a02 = k.fma(q2, a02); a03 = k.fma(q3, a03);
            k = FloatVector.broadcast(SP, kp[kc + 1]);
            a10 = k.fma(q0, a10); a11 = k.fma(q1, a11); a12 = k.fma(q2, a12); a13 = k.fma(q3, a13);
        }
        a00.intoArray(s, so); a01.intoArray(s, so + L); a02.intoArray(s, so + 2 * L); a03.intoArray(s, so + 3 * L);
        so += MQ;
        a10.intoArray(s, so); a11.intoArray(s, so + L); a12.intoArray(s, so + 2 * L); a13.intoArray(s, so + 3 * L);
    }

    /**
     * Online softmax step over the tile's first {@code nt} keys for all MQ rows: the running max m and sum l are
     * updated, alpha gets the factor 2^(m_old − m_new) that rescales the earlier output (0 before the first keys, 1
     * while the max stays), and the scores become P = 2^(S − m_new). The maxima of the four row vectors are four
     * independent chains over the keys; a row's max grows in only a few of its key tiles, so its factor is a scalar
     * exponential when it does; then the weights, a vector of rows at a time.
     * <p>One vector exponential call site, and this method is kept above C2's hot inlining size (325 bytecodes) so
     * that it is compiled on its own, from its own profile. Each inlined exponential costs C2 thousands of nodes (with
     * more sites it ran out of budget and left calls with boxed vectors, 0.58× the speed), and when this method was
     * inlined into {@link #tile}, compiled before this method's profile had matured, C2 sometimes judged the
     * exponential cold and did not inline it (softmax 4× slower in about one fresh JVM in three).
     */
    private static void softmax(float[] s, int nt, float[] m, float[] l, float[] alpha) {
        FloatVector x0 = FloatVector.fromArray(SP, m, 0), x1 = FloatVector.fromArray(SP, m, L);
        FloatVector x2 = FloatVector.fromArray(SP, m, 2 * L), x3 = FloatVector.fromArray(SP, m, 3 * L);
        // max as compare + blend: FloatVector.max keeps Java's NaN and signed-zero rules, six instructions on x86 (two
        // blends, max, an unordered compare, a masked move) where this is two. A NaN score is passed over here and
        // makes its weight, its row's sum and so its output NaN below; the sign of a zero max changes no weight.
        for (int j = 0, o = 0; j < nt; j++, o += MQ) {
            FloatVector s0 = FloatVector.fromArray(SP, s, o), s1 = FloatVector.fromArray(SP, s, o + L);
            FloatVector s2 = FloatVector.fromArray(SP, s, o + 2 * L), s3 = FloatVector.fromArray(SP, s, o + 3 * L);
            x0 = x0.blend(s0, x0.lt(s0));
            x1 = x1.blend(s1, x1.lt(s1));
            x2 = x2.blend(s2, x2.lt(s2));
            x3 = x3.blend(s3, x3.lt(s3));
        }
        // the new maxima go through alpha[] (free until the factors are written)
        x0.intoArray(alpha, 0);
        x1.intoArray(alpha, L);
        x2.intoArray(alpha, 2 * L);
        x3.intoArray(alpha, 3 * L);
        for (int r = 0; r < MQ; r++) {
            float mOld = m[r], mNew = alpha[r];
            m[r] = mNew;
            alpha[r] = mNew == mOld ? 1f : mOld == Float.NEGATIVE_INFINITY ? 0f : (float) Math.exp((mOld - mNew) * LN2);
        }
        for (int at = 0; at < MQ; at += L) {
            FloatVector mNew = FloatVector.fromArray(SP, m, at), sum = FloatVector.zero(SP);
            for (int j = 0, o = at; j < nt; j++, o += MQ) {
                FloatVector p = VectorMath.exp2NonPositive(FloatVector.fromArray(SP, s, o).sub(mNew));
                p.intoArray(s, o);
                sum = sum.add(p);
            }
            FloatVector.fromArray(SP, l, at).fma(FloatVector.fromArray(SP, alpha, at), sum).intoArray(l, at);
        }
    }

    /**
     * o[(c + i)·MQ + r] = alpha[r]·o + Σ_j v[j, c + i] · p[j·MQ + r] for eight channels i, the first four from the
     * group at {@code vo} (v[vo + j·VG + i]), the next four from the following group ({@code vg} further), o at
     * {@code oo}, and the 2·L rows r from {@code r0}, over the tile's {@code nt} keys.
     */
    private static void pv8(float[] p, int nt, float[] v, int vo, int vg, float[] o, int oo, float[] alpha, int r0) {
        FloatVector w0 = FloatVector.fromArray(SP, alpha, r0), w1 = FloatVector.fromArray(SP, alpha, r0 + L);
        int o0 = oo + r0;
        FloatVector a0 = w0.mul(FloatVector.fromArray(SP, o, o0)), b0 = w1.mul(FloatVector.fromArray(SP, o, o0 + L));
        FloatVector a1 = w0.mul(FloatVector.fromArray(SP, o, o0 + MQ)), b1 = w1.mul(FloatVector.fromArray(SP, o, o0 + MQ + L));
        FloatVector a2 = w0.mul(FloatVector.fromArray(SP, o, o0 + 2 * MQ)), b2 = w1.mul(FloatVector.fromArray(SP, o, o0 + 2 * MQ + L));
        FloatVector a3 = w0.mul(FloatVector.fromArray(SP, o, o0 + 3 * MQ)), b3 = w1.mul(FloatVector.fromArray(SP, o, o0 + 3 * MQ + L));
        FloatVector a4 = w0.mul(FloatVector.fromArray(SP, o, o0 + 4 * MQ)), b4 = w1.mul(FloatVector.fromArray(SP, o, o0 + 4 * MQ + L));
        FloatVector a5 = w0.mul(FloatVector.fromArray(SP, o, o0 + 5 * MQ)), b5 = w1.mul(FloatVector.fromArray(SP, o, o0 + 5 * MQ + L));
        FloatVector a6 = w0.mul(FloatVector.fromArray(SP, o, o0 + 6 * MQ)), b6 = w1.mul(FloatVector.fromArray(SP, o, o0 + 6 * MQ + L));
        FloatVector a7 = w0.mul(FloatVector.fromArray(SP, o, o0 + 7 * MQ)), b7 = w1.mul(FloatVector.fromArray(SP, o, o0 + 7 * MQ + L));
        for (int j = 0, po = r0, vj = vo; j < nt; j++, po += MQ, vj += VG) {
            FloatVector p0 = FloatVector.fromArray(SP, p, po), p1 = FloatVector.fromArray(SP, p, po + L);
            FloatVector x = FloatVector.broadcast(SP, v[vj]);
            a0 = x.fma(p0, a0); b0 = x.fma(p1, b0);
            x = FloatVector.broadcast(SP, v[vj + 1]);
            a1 = x.fma(p0, a1); b1 = x.fma(p1, b1);
            x = FloatVector.broadcast(SP, v[vj + 2]);
            a2 = x.fma(p0, a2); b2 = x.fma(p1, b2);
            x = FloatVector.broadcast(SP, v[vj + 3]);
            a3 = x.fma(p0, a3); b3 = x.fma(p1, b3);
            x = FloatVector.broadcast(SP, v[vj + vg]);
            a4 = x.fma(p0, a4); b4 = x.fma(p1, b4);
            x = FloatVector.broadcast(SP, v[vj + vg + 1]);
            a5 = x.fma(p0, a5); b5 = x.fma(p1, b5);
            x = FloatVector.broadcast(SP, v[vj + vg + 2]);
            a6 = x.fma(p0, a6); b6 = x.fma(p1, b6);
            x = FloatVector.broadcast(SP, v[vj + vg + 3]);
            a7 = x.fma(p0, a7); b7 = x.fma(p1, b7);
        }
        a0.intoArray(o, o0); b0.intoArray(o, o0 + L);
        a1.intoArray(o, o0 + MQ); b1.intoArray(o, o0 + MQ + L);
        a2.intoArray(o, o0 + 2 * MQ); b2.intoArray(o, o0 + 2 * MQ + L);
        a3.intoArray(o, o0 + 3 * MQ); b3.intoArray(o, o0 + 3 * MQ + L);
        a4.intoArray(o, o0 + 4 * MQ); b4.intoArray(o, o0 + 4 * MQ + L);
        a5.intoArray(o, o0 + 5 * MQ); b5.intoArray(o, o0 + 5 * MQ + L);
        a6.intoArray(o, o0 + 6 * MQ); b6.intoArray(o, o0 + 6 * MQ + L);
        a7.intoArray(o, o0 + 7 * MQ); b7.intoArray(o, o0 + 7 * MQ + L);
    }

    /**
     * With 16 registers: o[(c + i)·MQ + r] = alpha[r]·o + Σ_j v[vo + j·VG + i] · p[j·MQ + r] for two channels i of a
     * group (o at {@code oo}) and all MQ rows, over the tile's {@code nt} keys.
     */
    private static void pv2(float[] p, int nt, float[] v, int vo, float[] o, int oo, float[] alpha) {
        FloatVector w0 = FloatVector.fromArray(SP, alpha, 0), w1 = FloatVector.fromArray(SP, alpha, L);
        FloatVector w2 = FloatVector.fromArray(SP, alpha, 2 * L), w3 = FloatVector.fromArray(SP, alpha, 3 * L);
        int o1 = oo + MQ;
        FloatVector a00 = w0.mul(FloatVector.fromArray(SP, o, oo)), a01 = w1.mul(FloatVector.fromArray(SP, o, oo + L));
        FloatVector a02 = w2.mul(FloatVector.fromArray(SP, o, oo + 2 * L)), a03 = w3.mul(FloatVector.fromArray(SP, o, oo + 3 * L));
        FloatVector a10 = w0.mul(FloatVector.fromArray(SP, o, o1)), a11 = w1.mul(FloatVector.fromArray(SP, o, o1 + L));
        FloatVector a12 = w2.mul(FloatVector.fromArray(SP, o, o1 + 2 * L)), a13 = w3.mul(FloatVector.fromArray(SP, o, o1 + 3 * L));
        for (int j = 0, po = 0, vj = vo; j < nt; j++, po += MQ, vj += VG) {
            FloatVector p0 = FloatVector.fromArray(SP, p, po), p1 = FloatVector.fromArray(SP, p, po + L);
            FloatVector p2 = FloatVector.fromArray(SP, p, po + 2 * L), p3 = FloatVector.fromArray(SP, p, po + 3 * L);
            FloatVector x = FloatVector.broadcast(SP, v[vj]);
            a00 = x.fma(p0, a00); a01 = x.fma(p1, a01); a02 = x.fma(p2, a02); a03 = x.fma(p3, a03);
            x = FloatVector.broadcast(SP, v[vj + 1]);
            a10 = x.fma(p0, a10); a11 = x.fma(p1, a11); a12 = x.fma(p2, a12); a13 = x.fma(p3, a13);
        }
        a00.intoArray(o, oo); a01.intoArray(o, oo + L); a02.intoArray(o, oo + 2 * L); a03.intoArray(o, oo + 3 * L);
        a10.intoArray(o, o1); a11.intoArray(o, o1 + L); a12.intoArray(o, o1 + 2 * L); a13.intoArray(o, o1 + 3 * L);
    }
}
