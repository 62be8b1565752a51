package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fused separable convolution (depthwise computed into the pointwise GEMM's tiles): 1 vs 2 threads bit-identical,
 * and close to depthwise-then-pointwise through memory (the double-precision reference is in {@link GemmChecks}).
 */
class SeparableConv2dTest {
    @AfterEach
    void restoreThreads() { Parallel.setThreads(Runtime.getRuntime().availableProcessors()); }

    static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (2 * r.nextDouble() - 1);
        return a;
    }

    @Test
    void fusedIsThreadIndependentAndAgreesWithTheTwoPasses() {
        SplittableRandom r = new SplittableRandom(3);
        int[][] shapes = {{1, 64, 96, 32, 32}, {2, 33, 17, 13, 11}, {1, 130, 70, 16, 16}, {1, 7, 5, 1, 40}};
        for (int[] s : shapes) {
            int n = s[0], cin = s[1], cout = s[2], h = s[3], w = s[4];
            WeightTensor dw = WeightTensor.ofFloats("dw", random(r, cin * 9), cin, 1, 3, 3), db = WeightTensor.ofFloats("db", random(r, cin), cin);
            WeightTensor pw = WeightTensor.ofFloats("pw", random(r, cout * cin), cout, cin, 1, 1), pb = WeightTensor.ofFloats("pb", random(r, cout), cout);
            SeparableConv2d sep = new SeparableConv2d(dw, db, pw, pb, 1, true);
            Tensor x = Tensor.of(random(r, n * cin * h * w), n, cin, h, w);
            Tensor res = Tensor.of(random(r, n * cout * h * w), n, cout, h, w);
            Parallel.setThreads(1);
            float[] one = sep.forward(new Workspace(), x, Activation.SILU, res).toArray();
            Parallel.setThreads(2);
            float[] two = sep.forward(new Workspace(), x, Activation.SILU, res).toArray();
            assertThat(two).as("1 vs 2 threads %s", java.util.Arrays.toString(s)).containsExactly(one);
            Workspace ws = new Workspace();
            Tensor mid = new DepthwiseConv2d(dw, db, 1, 1).forward(ws, x);
            float[] twoPass = new Conv2d(pw, pb, 1, 0).forward(ws, mid, Activation.SILU, res).toArray();
            for (int i = 0; i < one.length; i++) {
                assertThat(one[i]).as("%s at %d", java.util.Arrays.toString(s), i).isCloseTo(twoPass[i], org.assertj.core.data.Offset.offset(2e-5f * (1 + Math.abs(twoPass[i]))));
            }
        }
    }
}
