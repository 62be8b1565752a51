package io.sdj.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import java.util.List;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Attention against a double-precision reference. Tolerance per output element, from float32 error analysis with
 * u = 2⁻²⁴ and γ(n) = n·u: a score (scaled by s·log2 e, rounded twice) carries |δs| ≤ γ(d+4)·s·Σ_c|q_c·k_c|; the
 * softmax weights 2^(S − max) then carry a relative error ≤ 2·max|δs| + u·max|s_j − max| (rounding of the
 * difference) + γ(8) (exp2 ≤ 1.5 ulp, normalisation), and the weighted sum over Tk keys adds γ(Tk + 2)·max|v|:
 * |δo| ≤ (2·max|δs| + u·max|s_j − max| + γ(Tk + 10))·max|v|. ReLU: |δo| ≤ (max|δs| + γ(Tk + 4))·max|v|.
 */
class AttentionTest {
    static final List<VectorSpecies<Float>> SPECIES =
            List.of(FloatVector.SPECIES_128, FloatVector.SPECIES_256, FloatVector.SPECIES_PREFERRED);
    static final double U = Math.ulp(1f) / 2;

    final Workspace ws = new Workspace();

    @AfterEach
    void restoreThreads() { Parallel.setThreads(Runtime.getRuntime().availableProcessors()); }

    static Tensor random(Random rnd, float amp, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) d[i] = (rnd.nextFloat() * 2 - 1) * amp;
        return t;
    }

    /** Reference in double; returns [out..., bound...] as two arrays. */
    static double[][] reference(Tensor q, Tensor k, Tensor v, int heads, boolean relu, boolean causal, float scale) {
        int b = q.dim(0), tq = q.dim(1), tk = k.dim(1), d = q.dim(2) / heads, dv = v.dim(2) / heads;
        double s = Float.isNaN(scale) ? 1.0 / Math.sqrt(d) : scale;
        double[] out = new double[b * tq * heads * dv], tol = new double[out.length];
        float[] qd = q.data(), kd = k.data(), vd = v.data();
        for (int bb = 0; bb < b; bb++)
            for (int h = 0; h < heads; h++) {
                double vmax = 0;
                for (int j = 0; j < tk; j++)
                    for (int c = 0; c < dv; c++) vmax = Math.max(vmax, Math.abs(vd[(bb * tk + j) * heads * dv + h * dv + c]));
                for (int i = 0; i < tq; i++) {
                    int limit = causal ? Math.min(tk, i + 1) : tk;
                    double[] sc = new double[limit];
                    double max = Double.NEGATIVE_INFINITY, ds = 0;
                    for (int j = 0; j < limit; j++) {
                        double dot = 0, abs = 0;
                        for (int c = 0; c < d; c++) {
                            double x = (double) qd[(bb * tq + i) * heads * d + h * d + c] * kd[(bb * tk + j) * heads * d + h * d + c];
                            dot += x;
                            abs += Math.abs(x);
                        }
                        sc[j] = dot * s;
                        ds = Math.max(ds, (d + 4) * U * Math.abs(s) * abs);
                        max = Math.max(max, sc[j]);
                    }
                    double sum = 0, spread = 0;
                    for (int j = 0; j < limit; j++) spread = Math.max(spread, max - sc[j]);
                    for (int j = 0; j < limit; j++) {
                        sc[j] = relu ? Math.max(sc[j], 0) : Math.exp(sc[j] - max);
                        sum += sc[j];
                    }
                    double norm = relu ? 1.0 / tk : 1.0 / sum;
                    for (int c = 0; c < dv; c++) {
                        double acc = 0;
                        for (int j = 0; j < limit; j++) acc += sc[j] * vd[(bb * tk + j) * heads * dv + h * dv + c];
                        int o = (bb * tq + i) * heads * dv + h * dv + c;
                        out[o] = acc * norm;
                        tol[o] = relu ? (ds + (tk + 4) * U) * vmax : (2 * ds + spread * U + (tk + 10) * U) * vmax;
                    }
                }
            }
        return new double[][] {out, tol};
    }

    void check(int b, int tq, int tk, int heads, int d, int dv, boolean relu, boolean causal, boolean shareKv, float amp, long seed) {
        Random rnd = new Random(seed);
        Tensor q = random(rnd, amp, b, tq, heads * d);
        Tensor k = random(rnd, amp, b, tk, heads * d);
        Tensor v = shareKv ? k : random(rnd, 1f, b, tk, heads * dv);
        double[][] ref = reference(q, k, v, heads, relu, causal, Float.NaN);
        Attention.Kind kind = relu ? Attention.Kind.RELU : Attention.Kind.SOFTMAX;
        for (VectorSpecies<Float> sp : SPECIES) {
            Parallel.setThreads(1);
            Tensor one = Attention.forward(ws, q, k, v, heads, kind, causal, Float.NaN, sp);
            Parallel.setThreads(2);
            Tensor two = Attention.forward(ws, q, k, v, heads, kind, causal, Float.NaN, sp);
            String what = "b" + b + " tq" + tq + " tk" + tk + " h" + heads + " d" + d + " dv" + dv + (relu ? " relu" : "")
                    + (causal ? " causal" : "") + (shareKv ? " k==v" : "") + " " + sp;
            assertThat(one.shape()).as(what).containsExactly(b, tq, heads * dv);
            assertBitIdentical(what + ": 1 vs 2 threads", one, two);
            float[] got = one.data();
            for (int i = 0; i < ref[0].length; i++) {
                double err = Math.abs(got[i] - ref[0][i]);
                if (!(err <= ref[1][i])) {
                    throw new AssertionError(what + ": element " + i + " got " + got[i] + " expected " + ref[0][i]
                            + " (error " + err + " > bound " + ref[1][i] + ")");
                }
            }
            ws.release(one, two);
        }
    }

    static void assertBitIdentical(String what, Tensor a, Tensor b) {
        float[] x = a.data(), y = b.data();
        for (int i = 0; i < a.numel(); i++) {
            if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                throw new AssertionError(what + ": first difference at element " + i + ": " + x[i] + " vs " + y[i]);
            }
        }
    }

    @Test
    void softmaxOddSizesAndHeadDims() {
        long seed = 1;
        for (int d : new int[] {1, 3, 40, 64, 80, 160, 17})
            for (int[] t : new int[][] {{1, 1}, {3, 77}, {17, 5}, {77, 77}, {130, 300}})
                check(1, t[0], t[1], 2, d, d, false, false, false, 1f, seed++);
    }

    @Test
    void sharpSoftmaxAndBatches() {
        check(2, 70, 200, 3, 40, 40, false, false, false, 6f, 11);
        check(2, 33, 77, 8, 64, 64, false, false, false, 4f, 12);
    }

    @Test
    void differentValueWidth() {
        check(1, 19, 45, 2, 24, 33, false, false, false, 1f, 13);
        check(1, 19, 45, 2, 24, 5, true, false, false, 1f, 14);
    }

    @Test
    void causal() {
        for (int t : new int[] {1, 3, 17, 77, 200}) check(2, t, t, 3, 64, 64, false, true, false, 2f, 20 + t);
        check(1, 300, 300, 2, 40, 40, false, true, false, 2f, 19);
    }

    @Test
    void keyEqualsValue() {
        check(1, 50, 77, 4, 40, 40, false, false, true, 1f, 30);
        check(1, 50, 77, 4, 40, 40, true, false, true, 1f, 31);
    }

    @Test
    void reluAttention() {
        for (int d : new int[] {1, 40, 64, 80, 160, 7}) check(1, 67, 150, 2, d, d, true, false, false, 1f, 40 + d);
        check(1, 40, 40, 2, 16, 16, true, true, false, 1f, 49);
    }

    @Test
    void manyTiles() {
        check(1, 1000, 1000, 2, 40, 40, false, false, false, 2f, 50);
    }

    /** A NaN in one query gives that query's row of its head NaN and leaves every other output finite. */
    @Test
    void nanQueryGivesItsRowNaN() {
        for (boolean relu : new boolean[] {false, true}) {
            Random rnd = new Random(60);
            int tq = 70, tk = 150, heads = 2, d = 40;
            Tensor q = random(rnd, 1f, 1, tq, heads * d), k = random(rnd, 1f, 1, tk, heads * d), v = random(rnd, 1f, 1, tk, heads * d);
            q.data()[(3 * heads + 1) * d + 5] = Float.NaN;   // query 3, head 1, channel 5
            for (VectorSpecies<Float> sp : SPECIES) {
                Tensor out = Attention.forward(ws, q, k, v, heads, relu ? Attention.Kind.RELU : Attention.Kind.SOFTMAX, false, Float.NaN, sp);
                float[] o = out.data();
                for (int i = 0; i < tq; i++)
                    for (int h = 0; h < heads; h++)
                        for (int c = 0; c < d; c++) {
                            float x = o[(i * heads + h) * d + c];
                            assertThat(Float.isNaN(x)).as("%s %s query %d head %d channel %d: %s", relu ? "relu" : "softmax", sp, i, h, c, x)
                                    .isEqualTo(i == 3 && h == 1);
                        }
                ws.release(out);
            }
        }
    }

    /**
     * The 128-bit kernels shaped for 32 registers (NEON's file: P·V 8 channels × 2 query vectors, scores and P·V of
     * the row-major kernel two panels / three vectors wide), which x86 never picks on its own: every check above in a
     * child JVM with {@code -Dsdj.kernel=neon}.
     */
    @Test
    void everyCheckWithTheNeonRegisterFile() throws Exception {
        String out = ChildJvm.run(AttentionTest.class, List.of("-Dsdj.kernel=neon"));
        assertThat(out).contains("AttentionTest checks OK, 128-bit attention kernels for 32 registers");
    }

    /** Every check of this class, for {@link #everyCheckWithTheNeonRegisterFile} (a failed check exits non-zero). */
    public static void main(String[] args) {
        AttentionTest t = new AttentionTest();
        t.softmaxOddSizesAndHeadDims();
        t.sharpSoftmaxAndBatches();
        t.differentValueWidth();
        t.causal();
        t.keyEqualsValue();
        t.reluAttention();
        t.manyTiles();
        t.nanQueryGivesItsRowNaN();
        System.out.println("AttentionTest checks OK, 128-bit attention kernels for "
                + KernelVariant.registersFor(FloatVector.SPECIES_128) + " registers");
    }

    @Test
    void rejectsMismatchedShapes() {
        Tensor q = Tensor.zeros(1, 4, 8), k = Tensor.zeros(1, 5, 8), v = Tensor.zeros(1, 6, 8);
        assertThatThrownBy(() -> Attention.forward(ws, q, k, v, 2, Attention.Kind.SOFTMAX, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mismatch");
        assertThatThrownBy(() -> Attention.forward(ws, q, k, k, 3, Attention.Kind.SOFTMAX, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("heads");
    }
}
