package io.sdj.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import java.util.Random;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Elementwise ops and data movement against plain references (exact for additions, products, copies: one float
 * rounding, so bit equality with the scalar float result), softmax against double with tolerance
 * (x − max rounded: |x − max|·u; exp ≤ 1.5 ulp; sum of d terms ≤ d·u; one division):
 * |δp| ≤ (d + 4 + |x − max|)·u·p + 2⁻¹⁴⁹.
 * Every op at the 128-bit, 256-bit and preferred species, 1 vs 2 threads bit-identical.
 */
class ElementwiseTest {
    static final double U = Math.ulp(1f) / 2;
    final Workspace ws = new Workspace();

    @AfterEach
    void restoreThreads() { Parallel.setThreads(Runtime.getRuntime().availableProcessors()); }

    static Tensor random(Random rnd, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) rnd.nextGaussian() * 3;
        return t;
    }

    interface Op { Tensor run(Elementwise.Kernel k); }

    /** Runs op at every species and 1/2 threads; all results bit-identical to {@code expected}. */
    void exact(String what, float[] expected, Op op) {
        for (VectorSpecies<Float> sp : AttentionTest.SPECIES) {
            for (int threads = 1; threads <= 2; threads++) {
                Parallel.setThreads(threads);
                Tensor y = op.run(Elementwise.kernel(sp));
                for (int i = 0; i < expected.length; i++) {
                    if (Float.floatToRawIntBits(y.data()[i]) != Float.floatToRawIntBits(expected[i])) {
                        throw new AssertionError(what + " " + sp + " threads " + threads + ": element " + i + " " + y.data()[i] + " vs " + expected[i]);
                    }
                }
            }
        }
    }

    @Test
    void arithmetic() {
        Random rnd = new Random(3);
        for (int n : new int[] {1, 3, 17, 77, 1000, 16385, 40000}) {
            Tensor a = random(rnd, n), b = random(rnd, n);
            float[] sum = new float[n], prod = new float[n], scaled = new float[n];
            for (int i = 0; i < n; i++) { sum[i] = a.data()[i] + b.data()[i]; prod[i] = a.data()[i] * b.data()[i]; scaled[i] = a.data()[i] * 0.37f; }
            exact("add n=" + n, sum, k -> { Tensor y = Tensor.zeros(n); k.add(a.data(), b.data(), y.data(), n); return y; });
            exact("add in place n=" + n, sum, k -> { Tensor y = a.copy(); k.add(y.data(), b.data(), y.data(), n); return y; });
            exact("mul n=" + n, prod, k -> { Tensor y = a.copy(); k.mul(y.data(), b.data(), y.data(), n); return y; });
            exact("scale n=" + n, scaled, k -> { Tensor y = a.copy(); k.scale(y.data(), 0.37f, n); return y; });
        }
        Tensor a = random(rnd, 2, 3, 5), b = random(rnd, 2, 3, 5);
        Tensor s = Elementwise.add(ws, a, b);
        assertThat(s.data()[7]).isEqualTo(a.data()[7] + b.data()[7]);
        Elementwise.mulInPlace(s, b);
        Elementwise.scaleInPlace(s, 2f);
        Elementwise.addInPlace(s, a);
        assertThat(s.data()[7]).isEqualTo((a.data()[7] + b.data()[7]) * b.data()[7] * 2f + a.data()[7]);
        assertThatThrownBy(() -> Elementwise.add(ws, a, Tensor.zeros(2, 15))).hasMessageContaining("shapes differ");
    }

    @Test
    void channelBias() {
        Random rnd = new Random(4);
        for (int[] sh : new int[][] {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 320, 17, 13}}) {
            Tensor x = random(rnd, sh), bias = random(rnd, sh[0], sh[1]);
            int hw = sh[2] * sh[3];
            float[] expected = new float[x.numel()];
            for (int i = 0; i < expected.length; i++) expected[i] = x.data()[i] + bias.data()[i / hw];
            exact("channel bias", expected, k -> { Tensor y = x.copy(); k.channelBias(y.data(), bias.data(), sh[0] * sh[1], hw); return y; });
        }
        assertThatThrownBy(() -> Elementwise.addChannelBiasInPlace(Tensor.zeros(1, 4, 2, 2), Tensor.zeros(1, 3))).hasMessageContaining("channel bias");
    }

    @Test
    void tokensRoundTrip() {
        Random rnd = new Random(5);
        for (int[] sh : new int[][] {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 320, 17, 13}, {2, 77, 33, 35}}) {
            Tensor x = random(rnd, sh);
            int n = sh[0], c = sh[1], hw = sh[2] * sh[3];
            float[] tokens = new float[x.numel()];
            for (int b = 0; b < n; b++) for (int ch = 0; ch < c; ch++) for (int p = 0; p < hw; p++) tokens[(b * hw + p) * c + ch] = x.data()[(b * c + ch) * hw + p];
            exact("to tokens", tokens, k -> Elementwise.toTokens(ws, x, k));
            Tensor t = Tensor.of(tokens, n, hw, c);
            exact("from tokens", x.toArray(), k -> Elementwise.fromTokens(ws, t, sh[2], sh[3], k));
            Tensor r = random(rnd, sh);
            float[] plus = new float[x.numel()];
            for (int i = 0; i < plus.length; i++) plus[i] = x.data()[i] + r.data()[i];
            exact("from tokens plus", plus, k -> Elementwise.fromTokensPlus(ws, t, r, sh[2], sh[3], k));
            assertThat(Elementwise.toTokens(ws, x).shape()).containsExactly(n, hw, c);
        }
        assertThatThrownBy(() -> Elementwise.fromTokens(ws, Tensor.zeros(1, 6, 2), 2, 2)).hasMessageContaining("2×2");
        assertThatThrownBy(() -> Elementwise.fromTokensPlus(ws, Tensor.zeros(1, 6, 2), Tensor.zeros(1, 2, 3, 3), 2, 3))
                .hasMessageContaining("[1, 2, 2, 3]");
    }

    @Test
    void upsampleNearest() {
        Random rnd = new Random(6);
        int[][] cases = {{1, 1, 1, 1, 2, 2}, {2, 3, 5, 7, 10, 14}, {1, 2, 3, 5, 5, 3}, {1, 2, 3, 5, 7, 11}, {1, 1, 4, 4, 4, 4},
                {1, 3, 16, 16, 32, 32}, {1, 2, 7, 9, 3, 4}, {1, 1, 3, 3, 5, 5}};
        for (int[] cs : cases) {
            Tensor x = random(rnd, cs[0], cs[1], cs[2], cs[3]);
            int h = cs[2], w = cs[3], oh = cs[4], ow = cs[5];
            float[] expected = new float[cs[0] * cs[1] * oh * ow];
            for (int p = 0; p < cs[0] * cs[1]; p++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        // PyTorch: same size → identity, 2× → dst>>1, else floorf(dst · (float) in/out) clamped
                        int iy = oh == h ? oy : oh == 2 * h ? oy >> 1 : Math.min(h - 1, (int) Math.floor(oy * ((float) h / oh)));
                        int ix = ow == w ? ox : ow == 2 * w ? ox >> 1 : Math.min(w - 1, (int) Math.floor(ox * ((float) w / ow)));
                        expected[(p * oh + oy) * ow + ox] = x.data()[(p * h + iy) * w + ix];
                    }
            exact("upsample " + java.util.Arrays.toString(cs), expected, k -> Elementwise.upsampleNearest(ws, x, oh, ow, k));
        }
        // 3 → 5: floorf(dst · 0.6f) gives rows 0,0,1,1,2 (0.6f·5 is never reached); PyTorch agrees
        Tensor x = Tensor.of(new float[] {10, 20, 30}, 1, 1, 3, 1);
        assertThat(Elementwise.upsampleNearest(ws, x, 5, 1).toArray()).containsExactly(10, 10, 20, 20, 30);
    }

    @Test
    void concatChannels() {
        Random rnd = new Random(7);
        Tensor a = random(rnd, 2, 3, 4, 5), b = random(rnd, 2, 7, 4, 5);
        Tensor y = Elementwise.concatChannels(ws, a, b);
        assertThat(y.shape()).containsExactly(2, 10, 4, 5);
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 10; c++)
                for (int p = 0; p < 20; p++)
                    assertThat(y.data()[(n * 10 + c) * 20 + p]).isEqualTo(c < 3 ? a.data()[(n * 3 + c) * 20 + p] : b.data()[(n * 7 + c - 3) * 20 + p]);
    }

    @Test
    void softmax() {
        Random rnd = new Random(8);
        for (int d : new int[] {1, 3, 17, 77, 1000, 4096}) {
            for (int rows : new int[] {1, 7}) {
                Tensor x = random(rnd, rows, d);
                for (int i = 0; i < x.numel(); i += 5) x.data()[i] *= 10;
                double[] ref = new double[x.numel()], arg = new double[x.numel()];
                for (int r = 0; r < rows; r++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int i = 0; i < d; i++) max = Math.max(max, x.data()[r * d + i]);
                    for (int i = 0; i < d; i++) sum += Math.exp(x.data()[r * d + i] - max);
                    for (int i = 0; i < d; i++) {
                        ref[r * d + i] = Math.exp(x.data()[r * d + i] - max) / sum;
                        arg[r * d + i] = Math.abs(x.data()[r * d + i] - max);
                    }
                }
                float[] first = null;
                for (VectorSpecies<Float> sp : AttentionTest.SPECIES) {
                    for (int threads = 1; threads <= 2; threads++) {
                        Parallel.setThreads(threads);
                        Tensor y = Elementwise.softmaxLastDimInPlace(x.copy(), Elementwise.kernel(sp));
                        for (int i = 0; i < ref.length; i++) {
                            double tol = (d + 4 + arg[i]) * U * ref[i] + Float.MIN_VALUE;
                            if (!(Math.abs(y.data()[i] - ref[i]) <= tol)) throw new AssertionError("softmax d=" + d + " " + sp + " at " + i + ": " + y.data()[i] + " vs " + ref[i]);
                        }
                        if (threads == 1) first = y.toArray();
                        else assertThat(y.toArray()).as("softmax 1 vs 2 threads").isEqualTo(first);
                    }
                }
            }
        }
    }

    @Test
    void windowCopiesTheRegionOfEveryPlane() {
        Tensor x = random(new Random(4), 2, 3, 7, 9);
        Tensor t = Elementwise.window(ws, x, 2, 3, 4, 5);
        assertThat(t.shape()).containsExactly(2, 3, 4, 5);
        for (int p = 0; p < 6; p++)
            for (int y = 0; y < 4; y++)
                for (int c = 0; c < 5; c++)
                    assertThat(t.data()[(p * 4 + y) * 5 + c]).isEqualTo(x.data()[(p * 7 + 2 + y) * 9 + 3 + c]);
        assertThat(Elementwise.window(ws, x, 0, 0, 7, 9).toArray()).containsExactly(x.toArray());
        assertThatThrownBy(() -> Elementwise.window(ws, x, 4, 0, 4, 9)).hasMessageContaining("not inside");
    }
}
