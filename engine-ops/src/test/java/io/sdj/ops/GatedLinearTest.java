package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The fused gated projection against a double-precision reference, odd sizes. Error bound (u = 2⁻²⁴): each projection
 * output z (value h or gate g) carries |δz| ≤ γ(in + 2)·(Σ|x·w| + |b|); the result h·act(g) then carries
 * |δh|·|act(g)| + |h|·(1.2·|δg| + 32u·|act(g)| + 2u·|g|) + 2u·|h·act(g)| (|act'| ≤ 1.2 for GELU and SiLU; the vector
 * GELU/SiLU are within 32 ulp relative plus u·|g| absolute, from 1 + erf cancelling for negative arguments).
 */
class GatedLinearTest {
    static final double U = Math.ulp(1f) / 2;

    @AfterEach
    void restoreThreads() { Parallel.setThreads(Runtime.getRuntime().availableProcessors()); }

    static float[] random(Random rnd, int n, float amp) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (rnd.nextFloat() * 2 - 1) * amp;
        return a;
    }

    static double act(Activation a, double g) {
        return a == Activation.SILU ? g / (1 + Math.exp(-g)) : 0.5 * g * (1 + Erf.erf(g / Math.sqrt(2)));
    }

    @Test
    void matchesDoubleReferenceOnOddSizes() {
        Random rnd = new Random(5);
        Workspace ws = new Workspace();
        for (Activation a : new Activation[]{Activation.GELU, Activation.SILU})
            for (int in : new int[]{1, 7, 33, 70})
                for (int inner : new int[]{1, 5, 17, 40, 77})
                    for (int rows : new int[]{1, 5, 13}) checkAgainstDoubleReference(rnd, ws, a, in, inner, rows);
    }

    /**
     * Sizes past one GEMM tile in every direction: K in several slices (the sums carried over in each thread's C tile
     * buffer), rows in several row blocks, columns in several column tiles, and partial tiles at every edge.
     */
    @Test
    void matchesDoubleReferenceAcrossTilesAndKSlices() {
        Random rnd = new Random(7);
        Workspace ws = new Workspace();
        for (Activation a : new Activation[]{Activation.GELU, Activation.SILU}) checkAgainstDoubleReference(rnd, ws, a, 1100, 601, 403);
    }

    private static void checkAgainstDoubleReference(Random rnd, Workspace ws, Activation a, int in, int inner, int rows) {
        boolean biased = (in + inner + rows) % 4 != 0;   // some cases without a bias (the reference adds 0)
        float[] wd = random(rnd, 2 * inner * in, (float) (3 / Math.sqrt(in)));
        float[] bd = biased ? random(rnd, 2 * inner, 0.5f) : new float[2 * inner];
        float[] xd = random(rnd, rows * in, 2f);
        GatedLinear g = new GatedLinear(WeightTensor.ofFloats("ff.proj.weight", wd, 2 * inner, in),
                biased ? WeightTensor.ofFloats("ff.proj.bias", bd, 2 * inner) : null, a);
        Tensor x = Tensor.of(xd, 1, rows, in);
        Parallel.setThreads(1);
        Tensor one = g.forward(ws, x);
        Parallel.setThreads(2);
        Tensor two = g.forward(ws, x);
        assertThat(one.shape()).containsExactly(1, rows, inner);
        assertThat(two.toArray()).as("1 vs 2 threads").containsExactly(one.toArray());
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < inner; i++) {
                double h = bd[i], gt = bd[inner + i], ah = Math.abs(bd[i]), ag = Math.abs(bd[inner + i]);
                for (int k = 0; k < in; k++) {
                    h += (double) xd[r * in + k] * wd[i * in + k];
                    gt += (double) xd[r * in + k] * wd[(inner + i) * in + k];
                    ah += Math.abs((double) xd[r * in + k] * wd[i * in + k]);
                    ag += Math.abs((double) xd[r * in + k] * wd[(inner + i) * in + k]);
                }
                double dh = (in + 2) * U * ah, dg = (in + 2) * U * ag, act = act(a, gt), ref = h * act;
                double tol = dh * Math.abs(act) + Math.abs(h) * (1.2 * dg + 32 * U * Math.abs(act) + 2 * U * Math.abs(gt))
                        + 2 * U * Math.abs(ref) + Float.MIN_NORMAL;
                float got = one.data()[r * inner + i];
                if (!(Math.abs(got - ref) <= tol)) {
                    throw new AssertionError(a + " in=" + in + " inner=" + inner + " rows=" + rows + " at " + r + "," + i + ": " + got + " vs " + ref + " (tol " + tol + ")");
                }
            }
        ws.release(one, two);
    }

    /** The fused path gives the same numbers as projection then the separate GEGLU pass, within a few ulp. */
    @Test
    void agreesWithTheUnfusedGeglu() {
        Random rnd = new Random(6);
        int in = 40, inner = 160, rows = 77;
        float[] wd = random(rnd, 2 * inner * in, 0.3f), bd = random(rnd, 2 * inner, 0.1f);
        Tensor x = Tensor.of(random(rnd, rows * in, 1f), rows, in);
        Workspace ws = new Workspace();
        Tensor z = new Linear(WeightTensor.ofFloats("w", wd, 2 * inner, in), WeightTensor.ofFloats("b", bd, 2 * inner)).forward(ws, x);
        float[] unfused = Activations.geglu(ws, z).toArray();
        float[] fused = new GatedLinear(WeightTensor.ofFloats("w", wd, 2 * inner, in), WeightTensor.ofFloats("b", bd, 2 * inner), Activation.GELU)
                .forward(ws, x).toArray();
        for (int i = 0; i < fused.length; i++) assertThat(fused[i]).isCloseTo(unfused[i], org.assertj.core.data.Offset.offset(2e-6f));
    }

    @Test
    void badInputsAreRefused() {
        assertThatThrownBy(() -> new GatedLinear(WeightTensor.ofFloats("w", new float[9], 3, 3), null, Activation.GELU)).hasMessageContaining("2·inner");
        assertThatThrownBy(() -> new GatedLinear(WeightTensor.ofFloats("w", new float[8], 4, 2), null, Activation.RELU)).hasMessageContaining("GELU or SILU");
        GatedLinear g = new GatedLinear(WeightTensor.ofFloats("w", new float[8], 4, 2), null, Activation.SILU);
        assertThatThrownBy(() -> g.forward(new Workspace(), Tensor.zeros(3, 5))).hasMessageContaining("expected 2");
    }
}
