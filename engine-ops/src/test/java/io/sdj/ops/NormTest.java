package io.sdj.ops;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import java.util.Random;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * GroupNorm and LayerNorm against double-precision references. Tolerance per element, u = 2⁻²⁴: the statistics are
 * float sums of ≤ 64 terms per lane (LayerNorm: ≤ 1024-element blocks in 4·L lanes; GroupNorm: blocks of 64·L in L
 * lanes) added in double, so |δμ| ≤ 64u·mean|x| and the variance and 1/σ
 * carry ≤ 64u relative; the affine step adds 3u: |δy| ≤ 64u·|γ|·σ⁻¹·(|x − μ| + mean|x|) + 4u·|β|, plus 4 ulp·|y| and
 * |δ pre-activation|·max|SiLU'| (≤ 1.1) with the fused SiLU.
 */
class NormTest {
    static final double U = Math.ulp(1f) / 2;
    final Workspace ws = new Workspace();

    @AfterEach
    void restoreThreads() { Parallel.setThreads(Runtime.getRuntime().availableProcessors()); }

    static float[] random(Random rnd, int n, float scale, float offset) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (rnd.nextFloat() * 2 - 1) * scale + offset;
        return a;
    }

    void checkGroupNorm(int n, int c, int groups, int h, int w, boolean silu, float offset, float eps, long seed) {
        checkGroupNorm(n, c, groups, h, w, silu, offset, eps, seed, 0f);
    }

    /**
     * With shiftScale ≠ 0, GroupNorm(x + shift[:, :, None, None]) with a random shift [n, c] of that scale, against the
     * reference of the exact sum: the kernel sums x (not x + shift) in float, so mean|x| + max|shift| of the group
     * takes the place of mean|x + shift| in the tolerance.
     */
    void checkGroupNorm(int n, int c, int groups, int h, int w, boolean silu, float offset, float eps, long seed, float shiftScale) {
        Random rnd = new Random(seed);
        int spatial = h * w;
        Tensor x = Tensor.of(random(rnd, n * c * spatial, 3f, offset), n, c, h, w);
        float[] g = random(rnd, c, 1f, 1f), bta = random(rnd, c, 0.5f, 0f);
        float[] shifts = shiftScale == 0 ? new float[n * c] : random(rnd, n * c, shiftScale, 0f);
        Tensor shift = shiftScale == 0 ? null : Tensor.of(shifts, n, c);
        GroupNorm gn = new GroupNorm(WeightTensor.ofFloats("gn.weight", g, c), WeightTensor.ofFloats("gn.bias", bta, c), groups, eps);
        int cpg = c / groups;
        double[] ref = new double[x.numel()], tol = new double[ref.length];
        float[] xd = x.data();
        for (int b = 0; b < n; b++)
            for (int gr = 0; gr < groups; gr++) {
                int base = (b * c + gr * cpg) * spatial, len = cpg * spatial;
                double sum = 0, abs = 0, maxShift = 0;
                for (int i = 0; i < len; i++) {
                    double tc = shifts[b * c + gr * cpg + i / spatial];
                    sum += xd[base + i] + tc;
                    abs += Math.abs(xd[base + i]);
                    maxShift = Math.max(maxShift, Math.abs(tc));
                }
                double mean = sum / len, sq = 0;
                for (int i = 0; i < len; i++) {
                    double d = xd[base + i] + shifts[b * c + gr * cpg + i / spatial] - mean;
                    sq += d * d;
                }
                double inv = 1 / Math.sqrt(sq / len + eps), absMean = abs / len + maxShift;
                for (int ch = gr * cpg; ch < (gr + 1) * cpg; ch++)
                    for (int i = 0; i < spatial; i++) {
                        int o = (b * c + ch) * spatial + i;
                        double xo = xd[o] + (double) shifts[b * c + ch];
                        double pre = (xo - mean) * inv * g[ch] + bta[ch];
                        double t = 64 * U * Math.abs(g[ch]) * inv * (Math.abs(xo - mean) + absMean) + 4 * U * Math.abs(bta[ch]);
                        if (silu) {
                            ref[o] = pre / (1 + Math.exp(-pre));
                            tol[o] = 1.1 * t + 8 * U * Math.abs(ref[o]) + Float.MIN_NORMAL;
                        } else {
                            ref[o] = pre;
                            tol[o] = t + Float.MIN_NORMAL;
                        }
                    }
            }
        String what = "groupnorm n" + n + " c" + c + " g" + groups + " " + h + "x" + w + (silu ? " silu" : "") + " offset " + offset
                + (shift != null ? " shift " + shiftScale : "");
        float[] before = x.data().clone();
        for (VectorSpecies<Float> sp : AttentionTest.SPECIES) {
            Parallel.setThreads(1);
            Tensor one = gn.forward(ws, x, shift, silu, sp);
            Parallel.setThreads(2);
            Tensor two = gn.forward(ws, x, shift, silu, sp);
            org.assertj.core.api.Assertions.assertThat(x.data()).as(what + ": input untouched").isEqualTo(before);
            AttentionTest.assertBitIdentical(what + " " + sp + ": 1 vs 2 threads", one, two);
            assertClose(what + " " + sp, one, ref, tol);
            ws.release(one, two);
        }
    }

    static void assertClose(String what, Tensor got, double[] ref, double[] tol) {
        float[] d = got.data();
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs(d[i] - ref[i]);
            if (!(err <= tol[i])) {
                throw new AssertionError(what + ": element " + i + " got " + d[i] + " expected " + ref[i] + " (error " + err + " > " + tol[i] + ")");
            }
        }
    }

    @Test
    void groupNormShapes() {
        long seed = 1;
        for (boolean silu : new boolean[] {false, true}) {
            checkGroupNorm(1, 32, 32, 1, 1, silu, 0f, 1e-5f, seed++);
            checkGroupNorm(2, 64, 32, 3, 3, silu, 0f, 1e-6f, seed++);
            checkGroupNorm(1, 96, 32, 17, 13, silu, 0.5f, 1e-5f, seed++);
            checkGroupNorm(1, 6, 3, 77, 1, silu, -2f, 1e-5f, seed++);
            checkGroupNorm(1, 320, 32, 40, 25, silu, 0f, 1e-5f, seed++); // 1000 pixels, > one block per group
            checkGroupNorm(2, 5, 1, 7, 11, silu, 0f, 1e-5f, seed++);
            checkGroupNorm(3, 10, 5, 33, 37, silu, 1f, 1e-5f, seed++); // channels of several blocks, 15 groups in a row
            checkGroupNorm(2, 4, 2, 259, 263, silu, 0.5f, 1e-5f, seed++); // groups of 136234 > 2^17 floats: not pipelined

        }
    }

    @Test
    void groupNormOfInputPlusChannelShift() {
        long seed = 50;
        for (boolean silu : new boolean[] {false, true}) {
            checkGroupNorm(2, 64, 32, 3, 3, silu, 0f, 1e-6f, seed++, 1f);
            checkGroupNorm(1, 96, 32, 17, 13, silu, 0.5f, 1e-5f, seed++, 4f);
            checkGroupNorm(3, 10, 5, 33, 37, silu, 1f, 1e-5f, seed++, 0.25f);
            checkGroupNorm(1, 6, 3, 77, 1, silu, -2f, 1e-5f, seed++, 30f); // shifts far larger than the spread
            checkGroupNorm(2, 4, 2, 259, 263, silu, 0f, 1e-5f, seed++, 2f); // not pipelined
        }
    }

    @Test
    void groupNormLargeOffsetKeepsVariance() {
        checkGroupNorm(1, 64, 32, 32, 32, false, 100f, 1e-6f, 99);
    }

    @Test
    void layerNormShapes() {
        long seed = 100;
        for (int dim : new int[] {1, 3, 17, 77, 320, 768, 1000, 1280}) {
            for (int rows : new int[] {1, 5, 130}) checkLayerNorm(rows, dim, dim == 768 ? 1e-5f : 1e-6f, dim == 17 ? 30f : 0f, seed++);
        }
    }

    void checkLayerNorm(int rows, int dim, float eps, float offset, long seed) {
        Random rnd = new Random(seed);
        Tensor x = Tensor.of(random(rnd, rows * dim, 2f, offset), 1, rows, dim);
        float[] g = random(rnd, dim, 1f, 1f), bta = random(rnd, dim, 0.5f, 0f);
        LayerNorm ln = new LayerNorm(WeightTensor.ofFloats("ln.weight", g, dim), WeightTensor.ofFloats("ln.bias", bta, dim), eps);
        double[] ref = new double[x.numel()], tol = new double[ref.length];
        float[] xd = x.data();
        for (int r = 0; r < rows; r++) {
            double sum = 0, abs = 0;
            for (int i = 0; i < dim; i++) { sum += xd[r * dim + i]; abs += Math.abs(xd[r * dim + i]); }
            double mean = sum / dim, sq = 0;
            for (int i = 0; i < dim; i++) sq += (xd[r * dim + i] - mean) * (xd[r * dim + i] - mean);
            double inv = 1 / Math.sqrt(sq / dim + eps);
            for (int i = 0; i < dim; i++) {
                int o = r * dim + i;
                ref[o] = (xd[o] - mean) * inv * g[i] + bta[i];
                tol[o] = 64 * U * Math.abs(g[i]) * inv * (Math.abs(xd[o] - mean) + abs / dim) + 4 * U * Math.abs(bta[i]) + Float.MIN_NORMAL;
            }
        }
        String what = "layernorm rows" + rows + " dim" + dim;
        for (VectorSpecies<Float> sp : AttentionTest.SPECIES) {
            Parallel.setThreads(1);
            Tensor one = ln.forward(ws, x, sp);
            Parallel.setThreads(2);
            Tensor two = ln.forward(ws, x, sp);
            AttentionTest.assertBitIdentical(what + " " + sp + ": 1 vs 2 threads", one, two);
            assertClose(what + " " + sp, one, ref, tol);
            ws.release(one, two);
        }
    }

    @Test
    void rejectsWrongChannels() {
        GroupNorm gn = new GroupNorm(WeightTensor.ofFloats("gn.weight", new float[8], 8), WeightTensor.ofFloats("gn.bias", new float[8], 8), 4, 1e-5f);
        assertThatThrownBy(() -> gn.forward(ws, Tensor.zeros(1, 6, 2, 2), false)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gn.weight");
        assertThatThrownBy(() -> gn.forward(ws, Tensor.zeros(2, 8, 2, 2), Tensor.zeros(1, 8), false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gn.weight").hasMessageContaining("shift");
        LayerNorm ln = new LayerNorm(WeightTensor.ofFloats("ln.weight", new float[8], 8), WeightTensor.ofFloats("ln.bias", new float[8], 8), 1e-5f);
        assertThatThrownBy(() -> ln.forward(ws, Tensor.zeros(1, 3, 7))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ln.weight");
    }
}
