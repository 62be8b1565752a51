package io.sdj.ops;

import io.sdj.core.DType;
import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Correctness checks of the GEMM-based kernels against plain double-precision references, shared by the JUnit tests
 * and by {@link #main}, which the tests run in child JVMs with every {@link KernelVariant}.
 * <p>Tolerance: recursive float32 summation of K products has |error| ≤ γ·Σ|a·b| with γ ≈ (K+2)·u, u = 2⁻²⁴ (the
 * products are fused, the bias and residual adds are two more roundings). The vector activations (exp/erf/tanh
 * approximations) add at most ~4 ulp relative plus 1e-6 absolute, and their slope is below 1.2, so:
 * tol = 1.2·(K+2)·u·Σ|a·b| + 1e-5·|ref| + 1e-6.
 */
public final class GemmChecks {
    static final double U = Math.ulp(1.0f) / 2;

    private GemmChecks() {}

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("bits")) {
            System.out.println("GemmChecks bits " + gemmBits() + " with " + KernelVariant.describe());
            return;
        }
        runAll();
        System.out.println("GemmChecks OK with " + KernelVariant.describe());
    }

    /**
     * A hash of the exact bits of GEMMs with A the activations (odd sizes, several K slices, bias, GELU, residual,
     * 16-bit weights; gated projections with GELU and SiLU gates): every register tile height must give the same
     * bits, since each element sums its products in k order whatever the tile.
     */
    static int gemmBits() {
        SplittableRandom r = new SplittableRandom(7);
        int h = 1;
        int[][] shapes = {{13, 100, 769}, {77, 320, 33}, {200, 515, 1100}, {401, 70, 600}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = random(r, m * k), b = random(r, k * n), bias = random(r, n), res = random(r, m * n);
            for (boolean half : new boolean[]{false, true}) {
                PackedMatrix pb = half ? PackedMatrix.transposedColumnPanels(weight(r, "w", DType.F16, n, k)) : PackedMatrix.columnPanels(b, k, n);
                float[] c = new float[m * n];
                Gemm.multiply(a, 0, k, m, pb, c, 0, n, bias, Activation.GELU, res);
                h = 31 * h + java.util.Arrays.hashCode(c);
            }
            // the gated projection (gate in the epilogue), its gates spread over both GELU branches
            int inner = n / 2;
            float[] w = random(r, 2 * inner * k);
            for (int i = 0; i < w.length; i++) w[i] *= (float) (3 / Math.sqrt(k));
            for (Activation act : new Activation[]{Activation.GELU, Activation.SILU}) {
                GatedLinear g = new GatedLinear(WeightTensor.ofFloats("w", w, 2 * inner, k), WeightTensor.ofFloats("b", random(r, 2 * inner), 2 * inner), act);
                h = 31 * h + java.util.Arrays.hashCode(g.forward(new Workspace(), Tensor.of(a, 1, m, k)).data());
            }
        }
        return h;
    }

    /** Every check; throws AssertionError on the first failure. */
    static void runAll() {
        gemmShapes();
        linearDtypes();
        convShapes();
        depthwiseShapes();
        threadsBitIdentical();
        halfWeightsAsWidened();
        reluAttention();
    }

    /** ReLU attention's own kernel loops ({@link GemmKernel#blockedRowsTimesPanel}) in this variant. */
    static void reluAttention() {
        ReluAttentionTest t = new ReluAttentionTest();
        t.matchesDoubleReferenceOnOddSizes();
        t.oneAndTwoThreadsAreBitIdenticalAndMatchTheTiledKernel();
        t.restoreThreads();
    }

    static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    static double actRef(Activation act, double v) {
        return switch (act) {
            case NONE -> v;
            case RELU -> Math.max(v, 0);
            case SILU -> v / (1 + Math.exp(-v));
            case QUICK_GELU -> v / (1 + Math.exp(-1.702 * v));
            case GELU -> 0.5 * v * (1 + Erf.erf(v / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
        };
    }

    /** Compares y against ref with the tolerance above (abs = Σ|a·b| per element, k = summation length). */
    static void compare(String what, float[] y, double[] ref, double[] abs, int k) {
        for (int i = 0; i < ref.length; i++) {
            double tol = 1.2 * (k + 2) * U * abs[i] + 1e-5 * Math.abs(ref[i]) + 1e-6;
            double err = Math.abs(y[i] - ref[i]);
            if (!(err <= tol)) {
                throw new AssertionError(what + ": element " + i + " is " + y[i] + ", expected " + ref[i]
                        + " (error " + err + " > tolerance " + tol + ", species " + GemmKernel.S + ")");
            }
        }
    }

    // ---------------------------------------------------------------- GEMM

    static void gemmShapes() {
        SplittableRandom r = new SplittableRandom(1);
        int[][] shapes = {{1, 1, 1}, {1, 3, 17}, {3, 17, 1}, {17, 77, 3}, {77, 1, 1000}, {7, 33, 385}, {13, 100, 769},
                {6, 32, 384}, {97, 65, 50}, {200, 515, 17}, {401, 70, 600},
                // A packed once per row block and reused by the other column tiles, over several K slices (of half
                // KC up to 256 rows), with two and with three row blocks
                {250, 500, 600}, {401, 600, 700}};
        Activation[] acts = Activation.values();
        int idx = 0;
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            Activation act = acts[idx++ % acts.length];
            boolean withBias = idx % 2 == 0, withRes = idx % 3 != 0;
            int lda = k + (idx % 2) * 3, ldc = n + (idx % 3);
            float[] a = random(r, m * lda + 2), b = random(r, k * n);
            float[] bias = withBias ? random(r, n) : null;
            float[] res = withRes ? random(r, 1 + m * ldc) : null;
            PackedMatrix pb = PackedMatrix.columnPanels(b, k, n);
            float[] c = new float[1 + m * ldc];
            Gemm.multiply(a, 1, lda, m, pb, c, 1, ldc, bias, act, res);
            double[] ref = new double[m * n], abs = new double[m * n];
            float[] got = new float[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = withBias ? bias[j] : 0, sa = withBias ? Math.abs(bias[j]) : 0;
                    for (int kk = 0; kk < k; kk++) {
                        double p = (double) a[1 + i * lda + kk] * b[kk * n + j];
                        sum += p;
                        sa += Math.abs(p);
                    }
                    double v = actRef(act, sum);
                    if (withRes) {
                        v += res[1 + i * ldc + j];
                        sa += Math.abs(res[1 + i * ldc + j]);
                    }
                    ref[i * n + j] = v;
                    abs[i * n + j] = sa;
                    got[i * n + j] = c[1 + i * ldc + j];
                }
            }
            compare("gemm " + m + "×" + n + "×" + k + " " + act + (withBias ? " bias" : "") + (withRes ? " residual" : ""), got, ref, abs, k);
        }
        // row-panel variant through a plain row-major B source
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = random(r, m * k), b = random(r, k * n), bias = random(r, m);
            PackedMatrix pa = PackedMatrix.rowPanels(a, m, k);
            float[] c = new float[m * n];
            Gemm.multiplyPacked(pa, n, (k0, kc, j0, nc, dst) -> {
                int nr = Gemm.panelWidth();
                for (int p = 0; p * nr < nc; p++) {
                    for (int kk = 0; kk < kc; kk++) {
                        for (int jj = 0; jj < nr; jj++) {
                            int j = j0 + p * nr + jj;
                            dst[p * kc * nr + kk * nr + jj] = j < j0 + nc ? b[(k0 + kk) * n + j] : 0f;
                        }
                    }
                }
            }, c, 0, n, bias, Activation.SILU, null);
            double[] ref = new double[m * n], abs = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = bias[i], sa = Math.abs(bias[i]);
                    for (int kk = 0; kk < k; kk++) {
                        double p = (double) a[i * k + kk] * b[kk * n + j];
                        sum += p;
                        sa += Math.abs(p);
                    }
                    ref[i * n + j] = actRef(Activation.SILU, sum);
                    abs[i * n + j] = sa;
                }
            }
            compare("packed-A gemm " + m + "×" + n + "×" + k, c, ref, abs, k);
        }
    }

    // ---------------------------------------------------------------- weights of every dtype

    /** A weight of the given dtype with random values; I8 gets random per-row scales. */
    static WeightTensor weight(SplittableRandom r, String name, DType dtype, int... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        float[] v = random(r, n);
        return switch (dtype) {
            case F32 -> WeightTensor.ofFloats(name, v, shape);
            case F16 -> {
                short[] s = new short[n];
                for (int i = 0; i < n; i++) s[i] = Float.floatToFloat16(v[i]);
                yield new WeightTensor(name, DType.F16, shape, MemorySegment.ofArray(s), null);
            }
            case BF16 -> {
                short[] s = new short[n];
                for (int i = 0; i < n; i++) s[i] = DType.floatToBf16(v[i]);
                yield new WeightTensor(name, DType.BF16, shape, MemorySegment.ofArray(s), null);
            }
            case I8 -> {
                byte[] q = new byte[n];
                for (int i = 0; i < n; i++) q[i] = (byte) (r.nextInt(255) - 127);
                float[] scales = new float[shape[0]];
                for (int i = 0; i < scales.length; i++) scales[i] = (float) (0.001 + r.nextDouble() * 0.01);
                yield new WeightTensor(name, DType.I8, shape, MemorySegment.ofArray(q), scales);
            }
        };
    }

    static void linearDtypes() {
        SplittableRandom r = new SplittableRandom(2);
        int[][] shapes = {{1, 1, 1}, {3, 17, 77}, {77, 320, 33}, {17, 1000, 3}, {5, 13, 1000}};
        int idx = 0;
        for (DType dt : DType.values()) {
            for (int[] s : shapes) {
                int t = s[0], in = s[1], out = s[2];
                Activation act = Activation.values()[idx++ % Activation.values().length];
                WeightTensor w = weight(r, "w", dt, out, in);
                WeightTensor bias = idx % 2 == 0 ? weight(r, "b", DType.F32, out) : null;
                Linear lin = new Linear(w, bias);
                Tensor x = Tensor.of(random(r, 2 * t * in), 2, t, in);
                Tensor res = idx % 3 == 0 ? Tensor.of(random(r, 2 * t * out), 2, t, out) : null;
                Tensor y = lin.forward(new Workspace(), x, act, res);
                if (y.dim(0) != 2 || y.dim(1) != t || y.dim(2) != out) throw new AssertionError("linear output shape " + y);
                double[] ref = new double[2 * t * out], abs = new double[ref.length];
                for (int row = 0; row < 2 * t; row++) {
                    for (int o = 0; o < out; o++) {
                        double sum = bias == null ? 0 : bias.get(o), sa = Math.abs(sum);
                        for (int i = 0; i < in; i++) {
                            double p = (double) x.data()[row * in + i] * w.get((long) o * in + i);
                            sum += p;
                            sa += Math.abs(p);
                        }
                        double v = actRef(act, sum);
                        if (res != null) {
                            v += res.data()[row * out + o];
                            sa += Math.abs(res.data()[row * out + o]);
                        }
                        ref[row * out + o] = v;
                        abs[row * out + o] = sa;
                    }
                }
                compare("linear " + dt + " " + Arrays.toString(s) + " " + act, y.data(), ref, abs, in);
            }
        }
    }

    // ---------------------------------------------------------------- convolution

    /** Plain double-precision reference convolution (pre-activation sum and Σ|products| per output). */
    static void convRef(float[] x, int n, int cin, int h, int w, WeightTensor wt, float[] bias, int k, int stride, int pad,
                        int groups, double[] ref, double[] abs) {
        int cout = wt.dim(0), oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
        int cinG = cin / groups, coutG = cout / groups;
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < cout; o++) {
                int g = o / coutG;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double sum = bias == null ? 0 : bias[o], sa = Math.abs(sum);
                        for (int ci = 0; ci < cinG; ci++) {
                            int c = g * cinG + ci;
                            for (int ky = 0; ky < k; ky++) {
                                for (int kx = 0; kx < k; kx++) {
                                    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    double p = (double) x[((b * cin + c) * h + iy) * w + ix] * wt.get(((long) (o * cinG + ci) * k + ky) * k + kx);
                                    sum += p;
                                    sa += Math.abs(p);
                                }
                            }
                        }
                        int i = ((b * cout + o) * oh + oy) * ow + ox;
                        ref[i] = sum;
                        abs[i] = sa;
                    }
                }
            }
        }
    }

    static void convShapes() {
        SplittableRandom r = new SplittableRandom(3);
        // n, cin, cout, h, w, k, stride, pad
        int[][] cases = {
                {1, 1, 1, 1, 1, 1, 1, 0}, {1, 3, 5, 7, 9, 3, 1, 1}, {2, 4, 7, 17, 13, 3, 2, 1}, {1, 5, 17, 8, 8, 3, 2, 1},
                {1, 17, 13, 16, 16, 1, 1, 0}, {1, 8, 6, 5, 3, 3, 1, 0}, {1, 3, 77, 33, 35, 3, 1, 1}, {1, 45, 3, 12, 11, 3, 1, 1},
                {1, 2, 9, 9, 7, 3, 2, 0}, {2, 6, 11, 7, 7, 1, 2, 0}, {1, 4, 5, 6, 6, 4, 2, 1}, {1, 50, 40, 10, 10, 3, 1, 1},
                {1, 5, 7, 6, 40, 3, 2, 1}, {1, 3, 4, 5, 70, 3, 2, 1}, {2, 4, 3, 7, 64, 3, 2, 1}, {1, 6, 5, 9, 64, 1, 1, 0},
                {1, 3, 4, 11, 13, 3, 3, 1}, {1, 2, 3, 9, 10, 5, 1, 2}, {1, 2, 3, 40, 45, 5, 2, 2}};
        int idx = 0;
        for (int[] cs : cases) {
            int n = cs[0], cin = cs[1], cout = cs[2], h = cs[3], w = cs[4], k = cs[5], stride = cs[6], pad = cs[7];
            DType dt = DType.values()[idx % DType.values().length];
            Activation act = Activation.values()[idx % Activation.values().length];
            idx++;
            WeightTensor wt = weight(r, "conv", dt, cout, cin, k, k);
            float[] bias = idx % 2 == 0 ? random(r, cout) : null;
            Conv2d conv = new Conv2d(wt, bias == null ? null : WeightTensor.ofFloats("b", bias, cout), stride, pad);
            Tensor x = Tensor.of(random(r, n * cin * h * w), n, cin, h, w);
            int oh = conv.outSize(h), ow = conv.outSize(w);
            Tensor res = idx % 3 == 0 ? Tensor.of(random(r, n * cout * oh * ow), n, cout, oh, ow) : null;
            Tensor y = conv.forward(new Workspace(), x, act, res);
            double[] ref = new double[n * cout * oh * ow], abs = new double[ref.length];
            convRef(x.data(), n, cin, h, w, wt, bias, k, stride, pad, 1, ref, abs);
            for (int i = 0; i < ref.length; i++) {
                ref[i] = actRef(act, ref[i]);
                if (res != null) {
                    ref[i] += res.data()[i];
                    abs[i] += Math.abs(res.data()[i]);
                }
            }
            compare("conv " + Arrays.toString(cs) + " " + dt + " " + act, y.data(), ref, abs, cin * k * k);
        }
    }

    // ---------------------------------------------------------------- depthwise / separable

    static void depthwiseShapes() {
        SplittableRandom r = new SplittableRandom(4);
        // n, c, h, w, stride
        int[][] cases = {{1, 1, 1, 1, 1}, {1, 3, 5, 7, 1}, {2, 5, 17, 19, 2}, {1, 7, 8, 8, 2}, {1, 4, 33, 70, 1},
                {1, 3, 6, 64, 1}, {1, 2, 5, 32, 1}, {2, 3, 7, 16, 1}, {1, 2, 6, 64, 2}, {1, 2, 7, 32, 2}, {1, 3, 5, 33, 2}, {1, 2, 4, 96, 2}, {1, 1, 3, 1, 2},
                {1, 2, 2, 3, 2}, {1, 3, 64, 65, 2},
                // stride 1 either side of DepthwiseConv2d.COLUMN_PLANE_MAX: walked by columns, then by rows
                {1, 2, 64, 128, 1}, {1, 3, 91, 91, 1}, {1, 2, 129, 70, 1},
                // stride 2, even width: walked by columns up to the bound, by rows past it (odd height: a zero row below)
                {1, 2, 9, 40, 2}, {1, 2, 65, 130, 2}, {2, 3, 64, 128, 2},
                // separable, fused at stride 1: several K slices of the pointwise GEMM, pixel tiles across rows
                {2, 401, 9, 21, 1}, {1, 45, 31, 29, 1}};
        int idx = 0;
        for (int[] cs : cases) {
            int n = cs[0], c = cs[1], h = cs[2], w = cs[3], stride = cs[4];
            DType dt = DType.values()[idx % DType.values().length];
            idx++;
            WeightTensor wt = weight(r, "dw", dt, c, 1, 3, 3);
            float[] bias = idx % 2 == 0 ? random(r, c) : null;
            DepthwiseConv2d dw = new DepthwiseConv2d(wt, bias == null ? null : WeightTensor.ofFloats("b", bias, c), stride, 1);
            Tensor x = Tensor.of(random(r, n * c * h * w), n, c, h, w);
            int oh = dw.outSize(h), ow = dw.outSize(w);
            Tensor res = idx % 3 == 0 ? Tensor.of(random(r, n * c * oh * ow), n, c, oh, ow) : null;
            Tensor y = dw.forward(new Workspace(), x, res);
            double[] ref = new double[n * c * oh * ow], abs = new double[ref.length];
            convRef(x.data(), n, c, h, w, wt, bias, 3, stride, 1, c, ref, abs);
            for (int i = 0; i < ref.length; i++) {
                if (res != null) {
                    ref[i] += res.data()[i];
                    abs[i] += Math.abs(res.data()[i]);
                }
            }
            compare("depthwise " + Arrays.toString(cs) + " " + dt, y.data(), ref, abs, 9);

            // separable: depthwise 3×3 then pointwise 1×1 to cout channels
            int cout = 1 + r.nextInt(9);
            WeightTensor pw = weight(r, "pw", dt, cout, c, 1, 1);
            float[] pb = random(r, cout);
            SeparableConv2d sep = new SeparableConv2d(wt, bias == null ? null : WeightTensor.ofFloats("b", bias, c), pw,
                    WeightTensor.ofFloats("pb", pb, cout), stride);
            Tensor ys = sep.forward(new Workspace(), x);
            // the fused path (depthwise inside the pointwise GEMM's tiles, 3×3 stride 1) against the same reference
            Tensor yf = new SeparableConv2d(wt, bias == null ? null : WeightTensor.ofFloats("b", bias, c), pw,
                    WeightTensor.ofFloats("pb", pb, cout), stride, true).forward(new Workspace(), x);
            double[] mid = new double[n * c * oh * ow], midAbs = new double[mid.length];
            convRef(x.data(), n, c, h, w, wt, bias, 3, stride, 1, c, mid, midAbs);
            double[] sref = new double[n * cout * oh * ow], sabs = new double[sref.length];
            for (int b = 0; b < n; b++) {
                for (int o = 0; o < cout; o++) {
                    for (int p = 0; p < oh * ow; p++) {
                        double sum = pb[o], sa = Math.abs(pb[o]);
                        for (int ci = 0; ci < c; ci++) {
                            double wv = pw.get((long) o * c + ci);
                            sum += mid[(b * c + ci) * oh * ow + p] * wv;
                            // the depthwise result's own error (9 terms) propagates through the pointwise weights
                            sa += Math.abs(mid[(b * c + ci) * oh * ow + p] * wv) + 11.0 / (c + 2) * midAbs[(b * c + ci) * oh * ow + p] * Math.abs(wv);
                        }
                        sref[(b * cout + o) * oh * ow + p] = sum;
                        sabs[(b * cout + o) * oh * ow + p] = sa;
                    }
                }
            }
            compare("separable " + Arrays.toString(cs) + " → " + cout + " " + dt, ys.data(), sref, sabs, c);
            compare("separable fused " + Arrays.toString(cs) + " → " + cout + " " + dt, yf.data(), sref, sabs, c);
        }
    }

    // ---------------------------------------------------------------- threads

    static void threadsBitIdentical() {
        SplittableRandom r = new SplittableRandom(5);
        int saved = Parallel.threads();
        try {
            Linear lin = new Linear(weight(r, "w", DType.F32, 77, 1000), weight(r, "b", DType.F32, 77));
            Tensor xl = Tensor.of(random(r, 203 * 1000), 203, 1000);
            Conv2d conv = new Conv2d(weight(r, "c", DType.BF16, 37, 19, 3, 3), weight(r, "cb", DType.F32, 37), 1, 1);
            Conv2d down = new Conv2d(weight(r, "d", DType.F32, 13, 19, 3, 3), null, 2, 1);
            DepthwiseConv2d dw = new DepthwiseConv2d(weight(r, "dw", DType.F32, 19, 1, 3, 3), null, 1, 1);
            Tensor xc = Tensor.of(random(r, 19 * 45 * 47), 1, 19, 45, 47);
            // few pixels: 16×16 is split into pixel tiles, 8×8 into row blocks (50 output rows) on 2 threads
            Conv2d wide = new Conv2d(weight(r, "e", DType.F32, 50, 19, 3, 3), weight(r, "eb", DType.F32, 50), 1, 1);
            Tensor x16 = Tensor.of(random(r, 19 * 16 * 16), 1, 19, 16, 16), x8 = Tensor.of(random(r, 19 * 8 * 8), 1, 19, 8, 8);
            DepthwiseConv2d dw2 = new DepthwiseConv2d(weight(r, "dw2", DType.F32, 19, 1, 3, 3), null, 2, 1);
            Tensor x64 = Tensor.of(random(r, 19 * 6 * 64), 1, 19, 6, 64);
            float[][] one = new float[8][], two = new float[8][];
            for (int threads = 1; threads <= 2; threads++) {
                Parallel.setThreads(threads);
                float[][] out = threads == 1 ? one : two;
                Workspace ws = new Workspace();
                out[0] = lin.forward(ws, xl, Activation.GELU, null).data().clone();
                out[1] = conv.forward(ws, xc, Activation.SILU, null).data().clone();
                out[2] = down.forward(ws, xc).data().clone();
                out[3] = dw.forward(ws, xc, null).data().clone();
                out[4] = wide.forward(ws, x16).data().clone();
                out[5] = wide.forward(ws, x8).data().clone();
                out[6] = dw.forward(ws, x64, null).data().clone();
                out[7] = dw2.forward(ws, x64, null).data().clone();
            }
            for (int i = 0; i < one.length; i++) {
                if (!Arrays.equals(one[i], two[i])) throw new AssertionError("output " + i + " differs between 1 and 2 threads");
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    // ---------------------------------------------------------------- 16-bit packed weights

    /**
     * A weight of dtype {@code dt} (F16/BF16: random values plus zeros of both signs, subnormals and the largest
     * numbers, all finite products) and the same values as a F32 tensor (widened exactly).
     */
    static WeightTensor[] halfAndWidened(SplittableRandom r, String name, DType dt, int... shape) {
        WeightTensor h = weight(r, name, dt, shape);
        short[] bits = h.data().toArray(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN));
        short[] special = dt == DType.F16 ? new short[]{0, (short) 0x8000, 1, (short) 0x83ff, 0x0400, 0x7bff, (short) 0xfbff, 0x0200}
                : new short[]{0, (short) 0x8000, 1, (short) 0x807f, 0x0080, 0x4780, (short) 0xc77f, 0x3f80};
        for (int i = 0; i < bits.length; i += 1 + r.nextInt(7)) bits[i] = special[r.nextInt(special.length)];
        h = new WeightTensor(name, dt, shape, MemorySegment.ofArray(bits), null);
        return new WeightTensor[]{h, WeightTensor.ofFloats(name, h.toFloats(), shape)};
    }

    static void sameBits(String what, float[] half, float[] widened) {
        for (int i = 0; i < widened.length; i++) {
            if (Float.floatToRawIntBits(half[i]) != Float.floatToRawIntBits(widened[i])) {
                throw new AssertionError(what + ": element " + i + " is " + half[i] + " with 16-bit packed weights, "
                        + widened[i] + " with the same weights packed as float32 (species " + GemmKernel.S + ")");
            }
        }
    }

    static void requireHalf(String what, PackedMatrix p, DType dt) {
        DType want = PackedMatrix.KEEP_HALF ? dt : DType.F32;
        if (p.storage() != want) throw new AssertionError(what + ": packed as " + p.storage() + ", expected " + want);
    }

    /**
     * F16 and BF16 weights packed in 16 bits give bit-identical results to the same values packed as float32 (the
     * widening is exact and the order of operations unchanged): Linear at shapes that sweep columns (K ≤ 64) and
     * panels (K > 64), several K slices, edge tiles; the gated projection; direct, strided, 1×1 and Winograd
     * convolutions; the fused separable conv; on 1 and 2 threads (also bit-identical to each other).
     */
    static void halfWeightsAsWidened() {
        SplittableRandom r = new SplittableRandom(6);
        int saved = Parallel.threads();
        try {
            for (DType dt : new DType[]{DType.F16, DType.BF16}) {
                float[][] byThreads = new float[3][];
                for (int threads = 1; threads <= 2; threads++) {
                    Parallel.setThreads(threads);
                    SplittableRandom rr = new SplittableRandom(7);   // the same weights and inputs for both thread counts
                    java.util.List<float[]> outs = new java.util.ArrayList<>();
                    // tokens, in, out
                    int[][] linears = {{1, 1, 1}, {3, 40, 70}, {250, 64, 200}, {7, 33, 385}, {13, 100, 769}, {200, 515, 17}, {401, 1100, 45}};
                    for (int[] s : linears) {
                        WeightTensor[] w = halfAndWidened(rr, "lin", dt, s[2], s[1]);
                        WeightTensor b = weight(rr, "b", DType.F32, s[2]);
                        Linear half = new Linear(w[0], b), wide = new Linear(w[1], b);
                        requireHalf("linear", half.packedWeight(), dt);
                        Tensor x = Tensor.of(random(rr, s[0] * s[1]), s[0], s[1]);
                        float[] y = half.forward(new Workspace(), x, Activation.GELU, null).data();
                        sameBits("linear " + dt + " " + Arrays.toString(s), y, wide.forward(new Workspace(), x, Activation.GELU, null).data());
                        outs.add(y);
                    }
                    for (int[] s : new int[][]{{5, 37, 23}, {77, 130, 100}}) {   // tokens, in, inner
                        WeightTensor[] w = halfAndWidened(rr, "ff", dt, 2 * s[2], s[1]);
                        WeightTensor b = weight(rr, "fb", DType.F32, 2 * s[2]);
                        GatedLinear half = new GatedLinear(w[0], b, Activation.GELU), wide = new GatedLinear(w[1], b, Activation.GELU);
                        requireHalf("gated linear", half.packedWeight(), dt);
                        Tensor x = Tensor.of(random(rr, s[0] * s[1]), s[0], s[1]);
                        float[] y = half.forward(new Workspace(), x).data();
                        sameBits("gated linear " + dt + " " + Arrays.toString(s), y, wide.forward(new Workspace(), x).data());
                        outs.add(y);
                    }
                    // cin, cout, h, w, k, stride, algorithm
                    int[][] convs = {{3, 5, 7, 9, 3, 1, 0}, {50, 13, 11, 10, 3, 1, 0}, {19, 37, 16, 17, 3, 2, 0}, {45, 7, 9, 9, 1, 1, 0},
                            {19, 37, 14, 13, 3, 1, 1}, {8, 11, 20, 24, 3, 1, 1}};
                    for (int[] s : convs) {
                        WeightTensor[] w = halfAndWidened(rr, "conv", dt, s[1], s[0], s[4], s[4]);
                        WeightTensor b = weight(rr, "cb", DType.F32, s[1]);
                        ConvAlgorithm alg = s[6] == 1 ? ConvAlgorithm.WINOGRAD : ConvAlgorithm.DIRECT;
                        Conv2d half = new Conv2d(w[0], b, s[5], s[4] / 2, alg), wide = new Conv2d(w[1], b, s[5], s[4] / 2, alg);
                        requireHalf("conv", half.packedWeight(), dt);
                        Tensor x = Tensor.of(random(rr, s[0] * s[2] * s[3]), 1, s[0], s[2], s[3]);
                        float[] y = half.forward(new Workspace(), x, Activation.SILU, null).data();
                        sameBits("conv " + alg + " " + dt + " " + Arrays.toString(s), y, wide.forward(new Workspace(), x, Activation.SILU, null).data());
                        outs.add(y);
                        if (alg == ConvAlgorithm.WINOGRAD) {
                            // F(2×2) of 16-bit weights: the same bits as of the float32 weights transformed into the
                            // configured type (float32 by default), and with binary16 U asked for explicitly; with these
                            // weights (the special values) and with plain random ones (no value overflows binary16)
                            WeightTensor[] plain = {weight(rr, "conv", dt, s[1], s[0], 3, 3), null};
                            plain[1] = WeightTensor.ofFloats("conv", plain[0].toFloats(), s[1], s[0], 3, 3);
                            for (WeightTensor[] ws : new WeightTensor[][]{w, plain}) {
                                Conv2d h16 = new Conv2d(ws[0], b, 1, 1, alg), w32 = new Conv2d(ws[1], b, 1, 1, alg);
                                float[] y2 = new float[s[1] * s[2] * s[3]], w2 = new float[y2.length];
                                WinogradConv3x3 h2 = WinogradConv3x3.of(h16.packedWeight(), 1, WinogradConv3x3.Tile.F2);
                                boolean halfU = PackedMatrix.KEEP_HALF && ConvAlgorithm.HALF_TRANSFORMED_WEIGHTS;
                                WinogradConv3x3 expected = halfU
                                        ? WinogradConv3x3.of(w32.packedWeight(), 1, WinogradConv3x3.Tile.F2, DType.F16) : null;
                                if (expected == null) {   // overflow (the largest values), or float32 asked for
                                    if (halfU && ws == plain) throw new AssertionError("F(2×2) of plain " + dt + " weights overflowed binary16");
                                    expected = WinogradConv3x3.of(w32.packedWeight(), 1, WinogradConv3x3.Tile.F2, DType.F32);
                                }
                                if (h2.transformedType() != expected.transformedType()) {
                                    throw new AssertionError("F(2×2) of " + dt + " weights keeps " + h2.transformedType() + ", expected " + expected.transformedType());
                                }
                                h2.forward(x.data(), 0, s[2], s[3], h16.biasValues(), Activation.SILU, null, y2, 0);
                                expected.forward(x.data(), 0, s[2], s[3], w32.biasValues(), Activation.SILU, null, w2, 0);
                                sameBits("conv F(2×2) " + h2.transformedType() + " U, " + dt + " " + Arrays.toString(s), y2, w2);
                                outs.add(y2);
                                // binary16 U asked for explicitly: the same from 16-bit and float32 packing, or from neither
                                WinogradConv3x3 h16u = WinogradConv3x3.of(h16.packedWeight(), 1, WinogradConv3x3.Tile.F2, DType.F16);
                                WinogradConv3x3 w16u = WinogradConv3x3.of(w32.packedWeight(), 1, WinogradConv3x3.Tile.F2, DType.F16);
                                if ((h16u == null) != (w16u == null)) throw new AssertionError("binary16 U overflowed for one packing only, " + dt);
                                if (ws == plain && h16u == null) throw new AssertionError("F(2×2) of plain " + dt + " weights overflowed binary16");
                                if (h16u != null) {
                                    float[] y3 = new float[y2.length], w3 = new float[y2.length];
                                    h16u.forward(x.data(), 0, s[2], s[3], h16.biasValues(), Activation.SILU, null, y3, 0);
                                    w16u.forward(x.data(), 0, s[2], s[3], w32.biasValues(), Activation.SILU, null, w3, 0);
                                    sameBits("conv F(2×2) binary16 U asked for, " + dt + " " + Arrays.toString(s), y3, w3);
                                    outs.add(y3);
                                }
                            }
                        }
                    }
                    WeightTensor dw = weight(rr, "dw", DType.F32, 21, 1, 3, 3);
                    WeightTensor[] pw = halfAndWidened(rr, "pw", dt, 9, 21, 1, 1);
                    Tensor xs = Tensor.of(random(rr, 21 * 13 * 30), 1, 21, 13, 30);
                    float[] ys = new SeparableConv2d(dw, null, pw[0], null, 1, true).forward(new Workspace(), xs).data();
                    sameBits("separable fused " + dt, ys, new SeparableConv2d(dw, null, pw[1], null, 1, true).forward(new Workspace(), xs).data());
                    outs.add(ys);
                    int total = 0;
                    for (float[] o : outs) total += o.length;
                    float[] all = new float[total];
                    int at = 0;
                    for (float[] o : outs) {
                        System.arraycopy(o, 0, all, at, o.length);
                        at += o.length;
                    }
                    byThreads[threads] = all;
                }
                if (!Arrays.equals(byThreads[1], byThreads[2])) throw new AssertionError("16-bit " + dt + " weights: 1 and 2 threads differ");
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
