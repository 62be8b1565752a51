package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ReLU attention as two GEMMs against a double-precision reference. Per output element o = Σ_j relu(s_j)·v_j / Nk,
 * float32 error analysis (u = 2⁻²⁴, γ(n) = n·u): each score, from d products of q and the pre-scaled k, carries
 * |δs_j| ≤ γ(d + 3)·f·Σ_c|q_c·k_jc| (f = scale/Nk), and the weighted sum over Nk keys adds γ(Nk + 2)·Σ_j relu(s_j)·|v_j|:
 * |δo| ≤ Σ_j |δs_j|·|v_j| + γ(Nk + 2)·Σ_j relu(s_j)·|v_j|.
 */
class ReluAttentionTest {
    static final double U = Math.ulp(1f) / 2;

    @AfterEach
    void restoreThreads() { Parallel.setThreads(Runtime.getRuntime().availableProcessors()); }

    static Tensor random(Random rnd, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = rnd.nextFloat() * 2 - 1;
        return t;
    }

    static void check(Tensor q, Tensor k, Tensor v, int heads, float scale, Tensor out) {
        int b = q.dim(0), tq = q.dim(1), tk = k.dim(1), cq = q.dim(2), cv = v.dim(2), d = cq / heads, dv = cv / heads;
        double f = (double) scale / tk;
        float[] qd = q.data(), kd = k.data(), vd = v.data(), od = out.data();
        for (int bb = 0; bb < b; bb++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < tq; i++) {
                    double[] s = new double[tk], ds = new double[tk];
                    for (int j = 0; j < tk; j++) {
                        double dot = 0, abs = 0;
                        for (int c = 0; c < d; c++) {
                            double x = (double) qd[(bb * tq + i) * cq + h * d + c] * kd[(bb * tk + j) * cq + h * d + c];
                            dot += x;
                            abs += Math.abs(x);
                        }
                        s[j] = Math.max(0, dot * f);
                        ds[j] = (d + 3) * U * f * abs;
                    }
                    for (int c = 0; c < dv; c++) {
                        double acc = 0, tol = 0;
                        for (int j = 0; j < tk; j++) {
                            double vj = vd[(bb * tk + j) * cv + h * dv + c];
                            acc += s[j] * vj;
                            tol += ds[j] * Math.abs(vj) + (tk + 2) * U * s[j] * Math.abs(vj);
                        }
                        float got = od[(bb * tq + i) * cv + h * dv + c];
                        assertThat(Math.abs(got - acc)).as("b%d h%d i%d c%d", bb, h, i, c).isLessThanOrEqualTo(tol);
                    }
                }
    }

    @Test
    void matchesDoubleReferenceOnOddSizes() {
        Random rnd = new Random(11);
        int[][] shapes = {{1, 1, 1, 1, 1}, {2, 7, 13, 3, 5}, {1, 37, 77, 2, 24}, {3, 101, 65, 1, 33}, {1, 333, 333, 4, 16}, {1, 64, 77, 1, 64}};
        Workspace ws = new Workspace();
        for (int[] s : shapes) {
            int b = s[0], tq = s[1], tk = s[2], heads = s[3], d = s[4];
            Tensor q = random(rnd, b, tq, heads * d), k = random(rnd, b, tk, heads * d), v = random(rnd, b, tk, heads * d);
            float scale = (float) (1 / Math.sqrt(d));
            Tensor out = ReluAttention.forward(ws, q, k, v, heads, scale);
            assertThat(out.shape()).containsExactly(b, tq, heads * d);
            check(q, k, v, heads, scale, out);
            // shared key/value projection: the same tensor as K and V
            check(q, k, k, heads, scale, ReluAttention.forward(ws, q, k, k, heads, scale));
        }
    }

    @Test
    void scoreBlocksSplitLongQueries() {
        Random rnd = new Random(12);
        int tk = 2000, tq = ReluAttention.blockRows(10_000, tk) * 2 + 5;  // several blocks, the last one partial
        Tensor q = random(rnd, 1, tq, 8), k = random(rnd, 1, tk, 8), v = random(rnd, 1, tk, 8);
        check(q, k, v, 1, 0.3f, ReluAttention.forward(new Workspace(), q, k, v, 1, 0.3f));
    }

    @Test
    void oneAndTwoThreadsAreBitIdenticalAndMatchTheTiledKernel() {
        Random rnd = new Random(13);
        Tensor q = random(rnd, 2, 129, 3 * 40), k = random(rnd, 2, 95, 3 * 40), v = random(rnd, 2, 95, 3 * 40);
        Parallel.setThreads(1);
        float[] one = ReluAttention.forward(new Workspace(), q, k, v, 3, 0.2f).toArray();
        Parallel.setThreads(2);
        float[] two = ReluAttention.forward(new Workspace(), q, k, v, 3, 0.2f).toArray();
        assertThat(two).containsExactly(one);
        float[] tiled = Attention.forward(new Workspace(), q, k, v, 3, Attention.Kind.RELU, false, 0.2f).toArray();
        for (int i = 0; i < one.length; i++) assertThat(one[i]).isCloseTo(tiled[i], org.assertj.core.data.Offset.offset(1e-5f));
    }

    /**
     * Items (batch · head · query block) that split evenly over the threads run whole on one thread each, the others
     * one after another with each GEMM spread over the threads: both ways give the single-thread bits.
     */
    @Test
    void bothThreadingWaysAreBitIdenticalToOneThread() {
        Random rnd = new Random(14);
        int[][] shapes = {{1, 67, 77, 3, 64}, {1, 250, 256, 2, 64}, {2, 31, 19, 7, 33}, {1, 13, 2000, 1, 65}};
        for (int[] s : shapes) {
            int b = s[0], tq = s[1], tk = s[2], heads = s[3], d = s[4];
            Tensor q = random(rnd, b, tq, heads * d), k = random(rnd, b, tk, heads * d), v = random(rnd, b, tk, heads * d);
            Parallel.setThreads(1);
            float[] one = ReluAttention.forward(new Workspace(), q, k, v, heads, 0.125f).toArray();
            for (int t = 2; t <= 3; t++) {
                Parallel.setThreads(t);
                assertThat(ReluAttention.forward(new Workspace(), q, k, v, heads, 0.125f).toArray()).as("%d threads", t).containsExactly(one);
            }
        }
    }

    @Test
    void badShapesAreRefused() {
        Workspace ws = new Workspace();
        assertThatThrownBy(() -> ReluAttention.forward(ws, Tensor.zeros(1, 2, 6), Tensor.zeros(1, 3, 6), Tensor.zeros(1, 3, 6), 4, 1f))
                .hasMessageContaining("4 heads");
        assertThatThrownBy(() -> ReluAttention.forward(ws, Tensor.zeros(1, 2, 6), Tensor.zeros(1, 3, 6), Tensor.zeros(1, 4, 6), 2, 1f))
                .hasMessageContaining("relu attention");
    }
}
