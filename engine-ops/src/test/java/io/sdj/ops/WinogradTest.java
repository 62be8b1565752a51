package io.sdj.ops;

import io.sdj.core.DType;
import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Winograd convolution against the plain double-precision convolution ({@link GemmChecks#convRef}).
 * <p>Tolerance: the float32 path sums, per transformed element ξν, Cin products U·V (each U, V itself a short sum of
 * weights or inputs times transform coefficients), then applies the output transform. With every rounding bounded by
 * u = 2⁻²⁴, |error| ≤ 1.2·(Cin + 12)·u·Σ_c Σ_ξν |Aᵀ|·|U_c|·(|Bᵀ|·|d_c|·|B|)·|A| (the same sum with absolute values
 * everywhere, computed here in double), plus the bias/activation/residual terms of {@link GemmChecks}. With U kept in
 * binary16 (16-bit weights, F(2×2), {@code -Dsdj.conv.winogradWeights=f16}; checked here explicitly too) each U then differs from its exact value by at most 2⁻¹¹·|U| + 2⁻²⁵ (binary16's
 * rounding, normal and subnormal; the float32 rounding before it adds 2⁻²⁴·|U|), which adds
 * 1.2·2⁻¹¹·Σ_c Σ_ξν |Aᵀ|·(|U_c| + 2⁻¹⁴)·(|Bᵀ|·|d_c|·|B|)·|A|.
 */
class WinogradTest {
    private static final double U = Math.ulp(1.0f) / 2;
    /** Unit roundoff of binary16, and the smallest normal binary16 (below it the rounding is absolute: 2⁻²⁵ = U16·2⁻¹⁴). */
    private static final double U16 = 0x1p-11, MIN_NORMAL16 = 0x1p-14;

    /** Aᵀ, Bᵀ of the tile (G comes from the production code, transformed in double there too). */
    private static double[][] at(WinogradConv3x3.Tile t) {
        return t == WinogradConv3x3.Tile.F2
                ? new double[][]{{1, 1, 1, 0}, {0, 1, -1, -1}}
                : new double[][]{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
    }

    private static double[][] bt(WinogradConv3x3.Tile t) {
        return t == WinogradConv3x3.Tile.F2
                ? new double[][]{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
                : new double[][]{{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
    }

    /** M·X·Nᵀ for small dense matrices with every entry replaced by its absolute value. */
    private static double[][] absSandwich(double[][] mm, double[][] x, double[][] nn) {
        int r = mm.length, c = nn.length, k1 = x.length, k2 = x[0].length;
        double[][] out = new double[r][c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                double s = 0;
                for (int a = 0; a < k1; a++) for (int b = 0; b < k2; b++) s += Math.abs(mm[i][a]) * Math.abs(x[a][b]) * Math.abs(nn[j][b]);
                out[i][j] = s;
            }
        }
        return out;
    }

    /**
     * The error scale Σ_c Σ_ξν |Aᵀ|·(|U_c| + uFloor)·(|Bᵀ||d_c||B|)·|A| of every output (n = 1 image); |U_c| bounded
     * by |G|·|g_c|·|Gᵀ|.
     */
    static double[] winogradAbs(float[] x, int cin, int h, int w, WeightTensor wt, int pad, WinogradConv3x3.Tile t, double uFloor) {
        int cout = wt.dim(0), m = t.m, a = t.alpha, oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
        double[][] g = t.g(), atm = at(t), btm = bt(t);
        double[][][] uAbs = new double[cout * cin][][];
        for (int o = 0; o < cout; o++) {
            for (int c = 0; c < cin; c++) {
                double[][] k = new double[3][3];
                for (int i = 0; i < 9; i++) k[i / 3][i % 3] = wt.get(((long) o * cin + c) * 9 + i);
                uAbs[o * cin + c] = absSandwich(g, k, g);
                for (double[] row : uAbs[o * cin + c]) for (int j = 0; j < row.length; j++) row[j] += uFloor;
            }
        }
        double[] out = new double[cout * oh * ow];
        for (int ty = 0; ty * m < oh; ty++) {
            for (int tx = 0; tx * m < ow; tx++) {
                double[][][] vAbs = new double[cin][][];
                for (int c = 0; c < cin; c++) {
                    double[][] d = new double[a][a];
                    for (int r = 0; r < a; r++) {
                        for (int s = 0; s < a; s++) {
                            int iy = ty * m - pad + r, ix = tx * m - pad + s;
                            d[r][s] = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0 : x[(c * h + iy) * w + ix];
                        }
                    }
                    vAbs[c] = absSandwich(btm, d, btm);
                }
                for (int o = 0; o < cout; o++) {
                    double[][] mAbs = new double[a][a];
                    for (int c = 0; c < cin; c++) {
                        for (int i = 0; i < a; i++) for (int j = 0; j < a; j++) mAbs[i][j] += uAbs[o * cin + c][i][j] * vAbs[c][i][j];
                    }
                    double[][] y = absSandwich(atm, mAbs, atm);
                    for (int dy = 0; dy < m && ty * m + dy < oh; dy++) {
                        for (int dx = 0; dx < m && tx * m + dx < ow; dx++) out[(o * oh + ty * m + dy) * ow + tx * m + dx] = y[dy][dx];
                    }
                }
            }
        }
        return out;
    }

    private static float[] random(SplittableRandom r, int n) { return GemmChecks.random(r, n); }

    // cin, cout, h, w, pad
    private static final int[][] SHAPES = {
            {1, 1, 1, 1, 1}, {1, 1, 5, 5, 1}, {1, 3, 7, 9, 1}, {3, 1, 9, 7, 1}, {17, 13, 13, 11, 1}, {5, 7, 6, 40, 1},
            {19, 37, 21, 23, 1}, {8, 6, 5, 3, 0}, {6, 5, 9, 10, 2}, {33, 40, 33, 35, 1}, {64, 20, 31, 64, 1},
            {2, 70, 16, 16, 1}, {70, 2, 17, 16, 0}, {3, 5, 4, 128, 1}, {4, 3, 9, 66, 1}, {5, 4, 6, 130, 0},
            // small layers (U on the heap, small groups) on rows wider than a group: groups start mid tile row
            {64, 64, 9, 301, 1}, {40, 24, 7, 263, 0},
            // U above 1 MiB and at most a panel of tiles per thread: split by output channels on 2+ threads
            {100, 170, 11, 13, 1}};

    @ParameterizedTest
    @EnumSource(WinogradConv3x3.Tile.class)
    void matchesDoubleReferenceWithinTheTransformedBound(WinogradConv3x3.Tile tile) {
        SplittableRandom r = new SplittableRandom(11);
        int idx = 0;
        for (int[] s : SHAPES) {
            int cin = s[0], cout = s[1], h = s[2], w = s[3], pad = s[4], n = idx % 3 == 1 ? 2 : 1;
            Activation act = Activation.values()[idx % Activation.values().length];
            DType dt = new DType[]{DType.F32, DType.BF16, DType.F32, DType.F16}[idx % 4];
            idx++;
            WeightTensor wt = GemmChecks.weight(r, "w", dt, cout, cin, 3, 3);
            float[] bias = idx % 2 == 0 ? random(r, cout) : null;
            Conv2d conv = new Conv2d(wt, bias == null ? null : WeightTensor.ofFloats("b", bias, cout), 1, pad, ConvAlgorithm.WINOGRAD);
            int oh = conv.outSize(h), ow = conv.outSize(w);
            Tensor x = Tensor.of(random(r, n * cin * h * w), n, cin, h, w);
            Tensor res = idx % 3 == 0 ? Tensor.of(random(r, n * cout * oh * ow), n, cout, oh, ow) : null;
            WinogradConv3x3 form = WinogradConv3x3.of(conv.packedWeight(), pad, tile);
            assertThat(form.transformedType() == DType.F16).as("binary16 U for %s weights, %s", dt, tile)
                    .isEqualTo(dt != DType.F32 && tile == WinogradConv3x3.Tile.F2 && ConvAlgorithm.HALF_TRANSFORMED_WEIGHTS);
            java.util.List<WinogradConv3x3> forms = new java.util.ArrayList<>(java.util.List.of(form));
            if (dt != DType.F32 && tile == WinogradConv3x3.Tile.F2 && form.transformedType() == DType.F32) {
                forms.add(WinogradConv3x3.of(conv.packedWeight(), pad, tile, DType.F16));   // binary16 U, asked for explicitly
            }
            for (WinogradConv3x3 f : forms) {
            Tensor y = run(f, conv, x, act, res);
            boolean halfU = f.transformedType() == DType.F16;
            double[] ref = new double[n * cout * oh * ow], abs = new double[ref.length];
            GemmChecks.convRef(x.data(), n, cin, h, w, wt, bias, 3, 1, pad, 1, ref, abs);
            int per = cin * h * w, outPer = cout * oh * ow;
            for (int b = 0; b < n; b++) {
                float[] xb = Arrays.copyOfRange(x.data(), b * per, (b + 1) * per);
                double[] wa = winogradAbs(xb, cin, h, w, wt, pad, tile, 0);
                double[] wa16 = halfU ? winogradAbs(xb, cin, h, w, wt, pad, tile, MIN_NORMAL16) : null;
                for (int i = 0; i < outPer; i++) {
                    int e = b * outPer + i;
                    double pre = ref[e], v = GemmChecks.actRef(act, pre), sa = wa[i] + (bias == null ? 0 : Math.abs(bias[i / (oh * ow)]));
                    if (res != null) v += res.data()[e];
                    double tol = 1.2 * (cin + 12) * U * sa + 1e-5 * Math.abs(v) + 1e-6 + (res != null ? U * Math.abs(v) : 0)
                            + (halfU ? 1.2 * U16 * wa16[i] : 0);
                    double err = Math.abs(y.data()[e] - v);
                    if (!(err <= tol)) {
                        throw new AssertionError("winograd " + tile + " " + f.transformedType() + " U " + Arrays.toString(s) + " n=" + n + " " + act
                                + " at " + e + ": got " + y.data()[e] + ", expected " + v + " (error " + err + " > tolerance " + tol + ")");
                    }
                }
            }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(WinogradConv3x3.Tile.class)
    void oneAndTwoThreadsAreBitIdentical(WinogradConv3x3.Tile tile) {
        SplittableRandom r = new SplittableRandom(5);
        int saved = Parallel.threads();
        try {
            for (int[] s : new int[][]{{19, 37, 45, 43, 1}, {64, 20, 64, 64, 1}, {7, 9, 13, 100, 0}, {64, 64, 9, 301, 1}, {40, 24, 7, 263, 0},
                    {130, 160, 16, 16, 1}, {100, 170, 11, 13, 1}, {130, 160, 6, 6, 1}}) {
                int cin = s[0], cout = s[1], h = s[2], w = s[3], pad = s[4];
                Conv2d conv = new Conv2d(GemmChecks.weight(r, "w", DType.F32, cout, cin, 3, 3),
                        WeightTensor.ofFloats("b", random(r, cout), cout), 1, pad, ConvAlgorithm.WINOGRAD);
                Tensor x = Tensor.of(random(r, cin * h * w), 1, cin, h, w);
                float[][] out = new float[3][];
                for (int threads = 1; threads <= 3; threads++) {
                    Parallel.setThreads(threads);
                    out[threads - 1] = new ConvUnderTest(conv, tile).forward(x, Activation.SILU, null).toArray();
                }
                Tensor viaConv2d = conv.forward(new Workspace(), x, Activation.SILU, null);
                if (tile == ConvAlgorithm.tile()) assertThat(viaConv2d.toArray()).as("Conv2d dispatch, %s", Arrays.toString(s)).isEqualTo(out[2]);
                assertThat(out[1]).as("2 threads vs 1, %s %s", tile, Arrays.toString(s)).isEqualTo(out[0]);
                assertThat(out[2]).as("3 threads vs 1, %s %s", tile, Arrays.toString(s)).isEqualTo(out[0]);
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    /**
     * Accuracy of direct and Winograd convolution against the double reference at a UNet-like shape (random weights
     * scaled like a trained layer's, 1/√(9·Cin)): reported, and Winograd F(4×4) must stay within 20× and F(2×2) within
     * 3× of direct's worst relative error.
     */
    @Test
    void accuracyComparedWithDirect() {
        SplittableRandom r = new SplittableRandom(21);
        int cin = 128, cout = 16, h = 24, w = 24;
        WeightTensor wt = WeightTensor.ofFloats("w", trainedScale(r, cout, cin), cout, cin, 3, 3);
        Tensor x = Tensor.of(random(r, cin * h * w), 1, cin, h, w);
        double[] ref = new double[cout * h * w], abs = new double[ref.length];
        GemmChecks.convRef(x.data(), 1, cin, h, w, wt, null, 3, 1, 1, 1, ref, abs);
        double rms = rms(ref);
        double[] worst = new double[3];
        String[] names = {"direct", "winograd F(2x2,3x3)", "winograd F(4x4,3x3)"};
        Conv2d direct = new Conv2d(wt, null, 1, 1, ConvAlgorithm.DIRECT), wino = new Conv2d(wt, null, 1, 1, ConvAlgorithm.WINOGRAD);
        float[][] ys = {direct.forward(new Workspace(), x).toArray(),
                new ConvUnderTest(wino, WinogradConv3x3.Tile.F2).forward(x, Activation.NONE, null).toArray(),
                new ConvUnderTest(wino, WinogradConv3x3.Tile.F4).forward(x, Activation.NONE, null).toArray()};
        StringBuilder report = new StringBuilder("conv " + cin + "→" + cout + " 3×3 at " + h + "×" + w + ", max |error| / rms(output):");
        for (int a = 0; a < 3; a++) {
            for (int i = 0; i < ref.length; i++) worst[a] = Math.max(worst[a], Math.abs(ys[a][i] - ref[i]) / rms);
            report.append(String.format(" %s %.2e;", names[a], worst[a]));
        }
        System.out.println(report);
        assertThat(worst[1]).as(report.toString()).isLessThan(3 * worst[0] + 1e-7);
        assertThat(worst[2]).as(report.toString()).isLessThan(20 * worst[0] + 1e-7);
    }

    /** Random 3×3 weights [cout, cin, 3, 3] at a trained layer's scale, 1/√(9·Cin). */
    private static float[] trainedScale(SplittableRandom r, int cout, int cin) {
        float[] wv = random(r, cout * cin * 9);
        float scale = (float) (1 / Math.sqrt(9.0 * cin));
        for (int i = 0; i < wv.length; i++) wv[i] *= scale;
        return wv;
    }

    private static double rms(double[] v) {
        double sum = 0;
        for (double e : v) sum += e * e;
        return Math.sqrt(sum / v.length);
    }

    /**
     * The same layer from an F16 file (the weights rounded to binary16), against the double convolution of the file's
     * weights, compared with what storing the weights in 16 bits already changed (the double convolution of the
     * float32 weights against that of the binary16 ones): F(2×2) with binary16 U ({@code -Dsdj.conv.winogradWeights=f16},
     * asked for explicitly here) must stay within 2× the file's own rounding; F(4×4), whose output transform amplifies
     * U's rounding far more (its binary16 form is reported too), always keeps float32 U and must stay within a tenth of
     * it.
     */
    @Test
    void binary16TransformedWeightsCostAboutTheFilesOwnRounding() {
        SplittableRandom r = new SplittableRandom(22);
        int cin = 128, cout = 16, h = 24, w = 24;
        float[] wv = trainedScale(r, cout, cin);
        short[] bits = new short[wv.length];
        for (int i = 0; i < wv.length; i++) bits[i] = Float.floatToFloat16(wv[i]);
        WeightTensor exact = WeightTensor.ofFloats("w", wv, cout, cin, 3, 3);
        WeightTensor file = new WeightTensor("w", DType.F16, new int[]{cout, cin, 3, 3}, java.lang.foreign.MemorySegment.ofArray(bits), null);
        Tensor x = Tensor.of(random(r, cin * h * w), 1, cin, h, w);
        double[] ref = new double[cout * h * w], refExact = new double[ref.length], abs = new double[ref.length];
        GemmChecks.convRef(x.data(), 1, cin, h, w, file, null, 3, 1, 1, 1, ref, abs);
        GemmChecks.convRef(x.data(), 1, cin, h, w, exact, null, 3, 1, 1, 1, refExact, abs);
        double rms = rms(ref), rounding = 0;
        for (int i = 0; i < ref.length; i++) rounding = Math.max(rounding, Math.abs(ref[i] - refExact[i]) / rms);
        Conv2d conv = new Conv2d(file, null, 1, 1, ConvAlgorithm.WINOGRAD);
        StringBuilder report = new StringBuilder(String.format("conv %d→%d 3×3 at %d×%d, F16 weights, max |error| / rms(output): "
                + "the file's binary16 rounding %.2e;", cin, cout, h, w, rounding));
        double[] worst = new double[3];
        WinogradConv3x3[] forms = {WinogradConv3x3.of(conv.packedWeight(), 1, WinogradConv3x3.Tile.F2, DType.F16),
                WinogradConv3x3.of(conv.packedWeight(), 1, WinogradConv3x3.Tile.F4),
                WinogradConv3x3.of(conv.packedWeight(), 1, WinogradConv3x3.Tile.F4, DType.F16)};
        for (int f = 0; f < 3; f++) {
            float[] y = new float[ref.length];
            forms[f].forward(x.data(), 0, h, w, null, Activation.NONE, null, y, 0);
            for (int i = 0; i < ref.length; i++) worst[f] = Math.max(worst[f], Math.abs(y[i] - ref[i]) / rms);
            report.append(String.format(" winograd %s with %s U %.2e;", forms[f].tile(), forms[f].transformedType(), worst[f]));
        }
        System.out.println(report);
        assertThat(forms[0].transformedType()).isEqualTo(DType.F16);
        assertThat(forms[1].transformedType()).isEqualTo(DType.F32);
        assertThat(WinogradConv3x3.of(conv.packedWeight(), 1, WinogradConv3x3.Tile.F2).transformedType()).as("the default")
                .isEqualTo(ConvAlgorithm.HALF_TRANSFORMED_WEIGHTS && PackedMatrix.KEEP_HALF ? DType.F16 : DType.F32);
        assertThat(worst[0]).as(report.toString()).isLessThan(2 * rounding);
        assertThat(worst[1]).as(report.toString()).isLessThan(rounding / 10);
    }

    /** The reference and thread checks with a narrower species (run by {@link #narrowerSpeciesPassTheSameChecks}). */
    public static void main(String[] args) {
        WinogradTest t = new WinogradTest();
        for (WinogradConv3x3.Tile tile : WinogradConv3x3.Tile.values()) {
            t.matchesDoubleReferenceWithinTheTransformedBound(tile);
            t.oneAndTwoThreadsAreBitIdentical(tile);
        }
        System.out.println("WinogradTest OK with " + GemmKernel.S);
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {128, 256})
    void narrowerSpeciesPassTheSameChecks(int bits) throws Exception {
        String out = ChildJvm.run(WinogradTest.class, java.util.List.of("-Dsdj.gemm.vectorBits=" + bits));
        assertThat(out).contains("WinogradTest OK").contains("S_" + bits + "_BIT");
    }

    /**
     * The decoders' fusions give exactly the bits of the unfused steps (the same arithmetic, only where the input is
     * read from and when the activation runs): upsample 2× then conv, and act(conv + bias + residual), Winograd (both
     * tiles, tiles starting mid row) and direct, odd sizes, 1 and 2 threads; the unfused results are checked against
     * the double reference by the tests above.
     */
    @Test
    void upsampledInputAndActivationAfterTheResidualMatchTheUnfusedSteps() {
        SplittableRandom r = new SplittableRandom(21);
        int saved = Parallel.threads();
        try {
            // cin, cout, h, w (of the input before upsampling), pad
            for (int[] s : new int[][]{{17, 5, 7, 9, 1}, {64, 64, 9, 151, 1}, {20, 3, 33, 31, 0}, {3, 16, 5, 5, 1}}) {
                int cin = s[0], cout = s[1], h = s[2], w = s[3], pad = s[4];
                WeightTensor wt = GemmChecks.weight(r, "w", DType.F32, cout, cin, 3, 3);
                WeightTensor bias = WeightTensor.ofFloats("b", random(r, cout), cout);
                Tensor x = Tensor.of(random(r, 2 * cin * h * w), 2, cin, h, w);
                for (ConvAlgorithm alg : ConvAlgorithm.values()) {
                    Conv2d conv = new Conv2d(wt, bias, 1, pad, alg);
                    for (int threads = 1; threads <= 2; threads++) {
                        Parallel.setThreads(threads);
                        Workspace ws = new Workspace();
                        Tensor up = Elementwise.upsampleNearest(ws, x, 2 * h, 2 * w);
                        float[] twoSteps = conv.forward(ws, up).toArray();
                        assertThat(conv.forwardUpsampled(ws, x, 2).toArray()).as("upsampled %s %s %d threads", Arrays.toString(s), alg, threads)
                                .isEqualTo(twoSteps);
                        Tensor res = Tensor.of(random(r, 2 * cout * conv.outSize(h) * conv.outSize(w)), 2, cout, conv.outSize(h), conv.outSize(w));
                        float[] unfused = Activations.applyInPlace(conv.forward(ws, x, res), Activation.RELU).toArray();
                        assertThat(conv.forwardResidualThen(ws, x, res, Activation.RELU).toArray())
                                .as("relu after residual %s %s %d threads", Arrays.toString(s), alg, threads).isEqualTo(unfused);
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void algorithmSwitchIsParsedAndBadValuesAreNamed() {
        assertThat(ConvAlgorithm.parse(null)).isEqualTo(ConvAlgorithm.AUTO);
        assertThat(ConvAlgorithm.parse("Winograd")).isEqualTo(ConvAlgorithm.WINOGRAD);
        assertThat(ConvAlgorithm.parse("direct")).isEqualTo(ConvAlgorithm.DIRECT);
        assertThatThrownBy(() -> ConvAlgorithm.parse("fft")).hasMessageContaining("sdj.conv").hasMessageContaining("fft");
        assertThat(ConvAlgorithm.parseHalfTransformed(null)).isFalse();
        assertThat(ConvAlgorithm.parseHalfTransformed(" F32 ")).isFalse();
        assertThat(ConvAlgorithm.parseHalfTransformed("f16")).isTrue();
        assertThatThrownBy(() -> ConvAlgorithm.parseHalfTransformed("auto"))
                .hasMessage("-Dsdj.conv.winogradWeights must be f32 or f16, got 'auto'");
        assertThat(ConvAlgorithm.parseMinPanels(null)).isEqualTo(8);
        assertThat(ConvAlgorithm.parseMinPanels(" 2 ")).isEqualTo(2);
        assertThatThrownBy(() -> ConvAlgorithm.parseMinPanels("0")).hasMessage("-Dsdj.conv.f4MinPanels must be a whole number of GEMM panels ≥ 1, got '0'");
        assertThatThrownBy(() -> ConvAlgorithm.parseMinPanels("two")).hasMessageContaining("sdj.conv.f4MinPanels").hasMessageContaining("'two'");
        // auto: Winograd at the large UNet / TAESD shapes, direct for few channels or few tiles
        assertThat(ConvAlgorithm.AUTO.choose(320, 320, 64, 64)).isNotNull();
        assertThat(ConvAlgorithm.AUTO.choose(64, 64, 256, 256)).isNotNull();
        assertThat(ConvAlgorithm.AUTO.choose(4, 320, 64, 64)).isNull();
        assertThat(ConvAlgorithm.AUTO.choose(64, 3, 512, 512)).isNotNull();   // output convs: few outputs, many inputs
        assertThat(ConvAlgorithm.AUTO.choose(640, 640, 32, 32)).isNotNull();
        assertThat(ConvAlgorithm.AUTO.choose(1280, 1280, 16, 16)).isEqualTo(WinogradConv3x3.Tile.F2);
        assertThat(ConvAlgorithm.AUTO.choose(1280, 1280, 8, 8)).isNull();
        assertThat(ConvAlgorithm.DIRECT.choose(320, 320, 64, 64)).isNull();
    }

    /** Runs a Winograd-enabled conv with a given tile (the JVM-wide tile is fixed by a system property). */
    private record ConvUnderTest(Conv2d conv, WinogradConv3x3.Tile tile) {
        Tensor forward(Tensor x, Activation act, Tensor res) {
            return run(WinogradConv3x3.of(conv.packedWeight(), conv.padding(), tile), conv, x, act, res);
        }
    }

    /** The layer's bias through a given Winograd form, batch by batch. */
    private static Tensor run(WinogradConv3x3 wg, Conv2d conv, Tensor x, Activation act, Tensor res) {
        int n = x.dim(0), h = x.dim(2), w = x.dim(3), oh = conv.outSize(h), ow = conv.outSize(w);
        Tensor y = Tensor.zeros(n, conv.outChannels(), oh, ow);
        int per = conv.inChannels() * h * w, outPer = conv.outChannels() * oh * ow;
        for (int b = 0; b < n; b++) {
            wg.forward(x.data(), b * per, h, w, conv.biasValues(), act, res == null ? null : res.data(), y.data(), b * outPer);
        }
        return y;
    }

    /**
     * A 16-bit layer whose F(2×2) transform would overflow binary16 (a 3×3 kernel all at binary16's largest value:
     * its centre U is 2.25× that) keeps float32 U, with the bits of the same weights given as float32.
     */
    @Test
    void aTransformThatOverflowsBinary16KeepsFloat32() {
        SplittableRandom r = new SplittableRandom(8);
        WeightTensor w = GemmChecks.weight(r, "w", DType.F16, 7, 5, 3, 3);
        short[] bits = w.data().toArray(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN));
        for (int t = 0; t < 9; t++) bits[(1 * 5 + 2) * 9 + t] = 0x7bff;   // 65504, the largest binary16: output 1, input 2
        WeightTensor big = new WeightTensor("w", DType.F16, w.shape(), java.lang.foreign.MemorySegment.ofArray(bits), null);
        Conv2d half = new Conv2d(big, null, 1, 1, ConvAlgorithm.WINOGRAD);
        Conv2d wide = new Conv2d(WeightTensor.ofFloats("w", big.toFloats(), w.shape()), null, 1, 1, ConvAlgorithm.WINOGRAD);
        assertThat(WinogradConv3x3.of(wide.packedWeight(), 1, WinogradConv3x3.Tile.F2, DType.F16)).isNull();
        WinogradConv3x3 f2 = WinogradConv3x3.of(half.packedWeight(), 1, WinogradConv3x3.Tile.F2);
        assertThat(f2.transformedType()).isEqualTo(DType.F32);
        Tensor x = Tensor.of(random(r, 5 * 9 * 11), 1, 5, 9, 11);
        float[] y = new float[7 * 9 * 11], expected = new float[y.length];
        f2.forward(x.data(), 0, 9, 11, null, Activation.NONE, null, y, 0);
        WinogradConv3x3.of(wide.packedWeight(), 1, WinogradConv3x3.Tile.F2, DType.F32).forward(x.data(), 0, 9, 11, null, Activation.NONE, null, expected, 0);
        assertThat(y).isEqualTo(expected);
        for (float v : y) assertThat(v).isFinite();
    }

    /**
     * Weights mapped from a file, in layers built inside {@link Conv2d#deferringPacking}, are packed only when the
     * layer first runs as a direct convolution: as Winograd convolutions (F(4×4) and F(2×2) under auto) they give the
     * bits of the same weights packed at once, and stay unpacked; a size that runs direct packs them, with the same
     * bits again. Weights on the heap, and mapped ones outside it or inside {@link Conv2d#packingAtOnce}, are packed at
     * once (a layer stays usable after its file is closed).
     */
    @Test
    void mappedWeightsArePackedOnlyWhenTheLayerRunsDirect(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(9);
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(2);
            for (DType dt : new DType[]{DType.F32, DType.F16, DType.BF16}) {
                WeightTensor heap = GemmChecks.weight(r, "w", dt, 37, 19, 3, 3);
                WeightTensor bias = WeightTensor.ofFloats("b", random(r, 37), 37);
                Path file = dir.resolve(dt + ".bin");
                java.nio.file.Files.write(file, heap.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
                     java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
                    WeightTensor mapped = new WeightTensor("w", dt, heap.shape(),
                            ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena), null);
                    Conv2d lazy = Conv2d.deferringPacking(() -> new Conv2d(mapped, bias, 1, 1, ConvAlgorithm.AUTO));
                    Conv2d eager = Conv2d.deferringPacking(() -> new Conv2d(heap, bias, 1, 1, ConvAlgorithm.AUTO));
                    assertThat(lazy.isPacked()).isFalse();
                    assertThat(eager.isPacked()).isTrue();
                    assertThat(new Conv2d(mapped, bias, 1, 1, ConvAlgorithm.AUTO).isPacked()).as("outside deferringPacking").isTrue();
                    assertThat(Conv2d.deferringPacking(() -> Conv2d.packingAtOnce(() -> new Conv2d(mapped, bias, 1, 1, ConvAlgorithm.AUTO))).isPacked())
                            .as("packingAtOnce inside deferringPacking").isTrue();
                    // 72×72: F(4×4); 40×44: F(2×2); 6×6: direct
                    int[][] sizes = {{72, 72}, {40, 44}, {6, 6}};
                    for (int[] hw : sizes) {
                        Tensor x = Tensor.of(random(r, 19 * hw[0] * hw[1]), 1, 19, hw[0], hw[1]);
                        WinogradConv3x3 form = eager.winograd(hw[0], hw[1]);
                        assertThat(lazy.forward(new Workspace(), x, Activation.SILU, null).toArray())
                                .as("%s %d×%d (%s)", dt, hw[0], hw[1], form == null ? "direct" : form.tile())
                                .isEqualTo(eager.forward(new Workspace(), x, Activation.SILU, null).toArray());
                        assertThat(lazy.isPacked()).as("%s packed after %d×%d", dt, hw[0], hw[1]).isEqualTo(form == null);
                    }
                    assertThat(eager.winograd(72, 72).tile()).isEqualTo(WinogradConv3x3.Tile.F4);
                    assertThat(eager.winograd(40, 44).tile()).isEqualTo(WinogradConv3x3.Tile.F2);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    /** What sdj info and the direct-memory check count for a layer is what the layer allocates at most. */
    @Test
    void theTransformedWeightEstimateIsWhatALayerAllocatesAtMost() {
        SplittableRandom r = new SplittableRandom(5);
        Conv2d conv = new Conv2d(GemmChecks.weight(r, "w", DType.F32, 24, 20, 3, 3), null, 1, 1, ConvAlgorithm.AUTO);
        long estimate = ConvAlgorithm.AUTO.transformedWeightBytes(24, 20, DType.F32);
        // F(4×4): 36 transformed values per 9 weights, the 24 outputs rounded up to whole row panels of MR
        assertThat(estimate).isEqualTo(36L * PackedMatrix.ceilDiv(24, GemmKernel.MR) * GemmKernel.MR * 20 * Float.BYTES);
        WinogradConv3x3 small = conv.winograd(16, 16);      // few tiles: F(2×2) or direct
        assertThat(small == null ? 0 : small.byteSize()).isLessThanOrEqualTo(estimate);
        WinogradConv3x3 large = conv.winograd(256, 256);    // the largest form
        assertThat(large).isNotNull();
        assertThat(large.byteSize()).isEqualTo(estimate);
        // always direct: fewer than 16 input channels under auto, anything under direct
        assertThat(ConvAlgorithm.AUTO.transformedWeightBytes(64, 8, DType.F32)).isZero();
        assertThat(new Conv2d(GemmChecks.weight(r, "w", DType.F32, 64, 8, 3, 3), null, 1, 1, ConvAlgorithm.AUTO).winograd(256, 256)).isNull();
        assertThat(ConvAlgorithm.DIRECT.transformedWeightBytes(320, 320, DType.F32)).isZero();
        // 16-bit weights: F(4×4) keeps float32 U, F(2×2) binary16 (half its float32 bytes)
        assertThat(ConvAlgorithm.AUTO.transformedWeightBytes(24, 20, DType.BF16)).isEqualTo(estimate);
        Conv2d conv16 = new Conv2d(GemmChecks.weight(r, "w", DType.BF16, 24, 20, 3, 3), null, 1, 1, ConvAlgorithm.AUTO);
        assertThat(conv16.winograd(256, 256).byteSize()).isEqualTo(estimate);
        WinogradConv3x3 f2 = WinogradConv3x3.of(conv16.packedWeight(), 1, WinogradConv3x3.Tile.F2);
        assertThat(f2.byteSize()).isEqualTo(WinogradConv3x3.transformedWeightBytes(WinogradConv3x3.Tile.F2, 24, 20, DType.BF16))
                .isEqualTo(WinogradConv3x3.transformedWeightBytes(WinogradConv3x3.Tile.F2, 24, 20, DType.F32)
                        / (ConvAlgorithm.HALF_TRANSFORMED_WEIGHTS && PackedMatrix.KEEP_HALF ? 2 : 1));
    }
}
