package io.sdj.bench;

import io.sdj.core.DType;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Activation;
import io.sdj.ops.Attention;
import io.sdj.ops.Conv2d;
import io.sdj.ops.ConvAlgorithm;
import io.sdj.ops.DepthwiseConv2d;
import io.sdj.ops.Gemm;
import io.sdj.ops.PackedMatrix;
import io.sdj.ops.SeparableConv2d;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * One kernel workload at a fixed shape, shared by the JMH benchmarks and {@code sdj bench kernels} so both time the
 * same thing. {@code flops} (2 × multiply-adds) or {@code bytes} (compulsory traffic: input read once, output written
 * once) turn a time into a rate.
 */
public record KernelCase(String op, String shape, double flops, double bytes, Supplier<Runnable> factory) {

    /** The identifier used as a JMH {@code @Param}: "op shape". */
    public String id() { return op + " " + shape; }

    /** "GFLOP/s" for compute-bound cases, "GB/s" for memory-bound ones. */
    public String unit() { return flops > 0 ? "GFLOP/s" : "GB/s"; }

    /** The rate at a time per operation in milliseconds. */
    public double rate(double ms) { return (flops > 0 ? flops : bytes) / (ms * 1e6); }

    // ------------------------------------------------------------------ catalogue

    /** GEMM C[M,N] = A[M,K]·B[K,N], B pre-packed (the Linear arrangement), M×N×K. */
    public static final String[] GEMM_SHAPES = {"4096x320x2880", "1024x640x5760", "256x1280x11520", "2048x2048x2048", "4096x4096x40"};

    /**
     * GEMM with the weights from memory (see {@link #gemm(String, DType, long)}): MobileDiffusion's SwiGLU projection at
     * 16×16, where its mid block spends most of its time, each weight used by 256 rows once per evaluation.
     */
    public static final String GEMM_COLD_SHAPE = "256x6144x1024";

    /** Total size of the distinct copies of B a cold GEMM case cycles through: 1 GiB, beyond the last-level caches of the hosts measured (at most 480 MiB). */
    public static final long COLD_BYTES = 1L << 30;

    /**
     * The {@code coldBytes} of {@link #gemm(String, DType, long)} for a weight-cache setting: {@code hot} (0, one B) or
     * {@code cold} ({@link #COLD_BYTES}), as {@code GemmBenchmark}'s {@code weightCache} parameter takes it.
     */
    public static long coldBytes(String weightCache) {
        return switch (weightCache) {
            case "hot" -> 0;
            case "cold" -> COLD_BYTES;
            default -> throw new IllegalArgumentException("weightCache must be hot or cold, got '" + weightCache + "'");
        };
    }

    /** Convolutions of the SD1.5 / BK-SDM-Tiny UNet at a 64×64 latent (and two decoder ones): cin-cout-k-stride @ H×W. */
    public static final String[] CONV_SHAPES = {
            "320-320-3-1@64x64", "640-640-3-1@32x32", "1280-1280-3-1@16x16", "1280-1280-3-1@8x8",
            "320-320-3-2@64x64", "640-640-3-2@32x32", "1280-1280-3-2@16x16",
            "320-640-1-1@32x32", "640-1280-1-1@16x16", "4-320-3-1@64x64", "320-4-3-1@64x64",
            // TAESD and SD VAE decoder convolutions at a 512×512 image
            "64-64-3-1@256x256", "128-128-3-1@256x256"};

    /** Depthwise (dw) and separable (sep: dw 3×3 + pw 1×1) convolutions: c[-cout]-stride @ H×W. */
    public static final String[] DEPTHWISE_SHAPES = {"dw 320-1@64x64", "dw 640-1@32x32", "dw 320-2@64x64", "sep 320-320-1@64x64", "sep 640-640-1@32x32"};

    /** Attention through the public Attention.forward: tokens q × tokens kv × channels, heads. */
    public static final String[] ATTENTION_SHAPES = {"4096x4096x320 h8", "4096x77x320 h8", "1024x1024x640 h8", "256x256x1280 h8"};

    public static List<KernelCase> all() {
        List<KernelCase> l = new ArrayList<>();
        for (String s : GEMM_SHAPES) l.add(gemm(s));
        l.add(gemmCold());
        for (String s : CONV_SHAPES) l.add(conv(s));
        for (String s : DEPTHWISE_SHAPES) l.add(depthwise(s));
        for (String s : ATTENTION_SHAPES) l.add(attention(s));
        return l;
    }

    /** The case with this {@link #id()}. */
    public static KernelCase named(String id) {
        for (KernelCase c : all()) if (c.id().equals(id)) return c;
        throw new IllegalArgumentException("no kernel case '" + id + "'");
    }

    static float[] random(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    /** A weight of {@code dtype} holding {@code v} (F16/BF16: rounded to nearest even). */
    static WeightTensor weight(String name, DType dtype, float[] v, int... shape) {
        if (dtype == DType.F32) return WeightTensor.ofFloats(name, v, shape);
        if (dtype != DType.F16 && dtype != DType.BF16) throw new IllegalArgumentException("weights must be f32, f16 or bf16, got " + dtype);
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) s[i] = dtype == DType.F16 ? Float.floatToFloat16(v[i]) : DType.floatToBf16(v[i]);
        return new WeightTensor(name, dtype, shape, MemorySegment.ofArray(s), null);
    }

    public static KernelCase gemm(String shape) { return gemm(shape, DType.F32); }

    /**
     * GEMM with B packed from weights of {@code dtype}: F16/BF16 weights stay 16-bit when packed (unless
     * {@code -Dsdj.weights.packed=f32}) and are widened inside the GEMM.
     */
    public static KernelCase gemm(String shape, DType dtype) { return gemm(shape, dtype, 0); }

    /**
     * As {@link #gemm(String, DType)}, with B read from memory when {@code coldBytes > 0}: the runnable cycles through
     * distinct packed copies of B, together at least {@code coldBytes} (and at least two), so that each call's B was
     * last touched a whole cache's worth of other weights ago. That is how a UNet reads its weights: each matrix once
     * per evaluation, the rest of the model (1–3 GiB) read in between. With one B (0) the benchmark measures weights
     * that stay in the caches between calls wherever they fit.
     */
    public static KernelCase gemm(String shape, DType dtype, long coldBytes) {
        String[] p = shape.split("x");
        int m = Integer.parseInt(p[0]), n = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]);
        return new KernelCase(coldBytes > 0 ? "gemm-cold" : "gemm", shape, 2.0 * m * n * k, 0, () -> new GemmRun(m, n, k, dtype, coldBytes));
    }

    /** The cold GEMM case of the quick table and the full list: {@link #GEMM_COLD_SHAPE}, float32, {@link #COLD_BYTES}. */
    public static KernelCase gemmCold() { return gemm(GEMM_COLD_SHAPE, DType.F32, COLD_BYTES); }

    /** The operands of a {@link #gemm} case; each run multiplies A by the next copy of B into C. */
    static final class GemmRun implements Runnable {
        final int m, n, k;
        final float[] a, c;
        /** Distinct packed copies of the same weights: one when hot. */
        final PackedMatrix[] b;
        private int next;

        GemmRun(int m, int n, int k, DType dtype, long coldBytes) {
            this.m = m;
            this.n = n;
            this.k = k;
            a = random(1, m * k);
            float[] w = random(2, k * n);
            WeightTensor half = dtype == DType.F32 ? null : weight("w", dtype, w, n, k);
            Supplier<PackedMatrix> pack = () -> half == null ? PackedMatrix.columnPanels(w, k, n) : PackedMatrix.transposedColumnPanels(half);
            PackedMatrix first = pack.get();
            // copies counted in packed bytes: panel padding and the packed dtype (-Dsdj.weights.packed) included
            int copies = coldBytes <= 0 ? 1 : (int) Math.max(2, Math.ceilDiv(coldBytes, first.byteSize()));
            b = new PackedMatrix[copies];
            b[0] = first;
            for (int i = 1; i < copies; i++) b[i] = pack.get();
            c = new float[m * n];
        }

        @Override
        public void run() {
            PackedMatrix bi = b[next];
            next = next + 1 == b.length ? 0 : next + 1;
            Gemm.multiply(a, 0, k, m, bi, c, 0, n, null, Activation.NONE, null);
        }
    }

    public static KernelCase conv(String shape) { return conv(shape, ConvAlgorithm.AUTO); }

    /**
     * A convolution run with the given algorithm; its rate is always direct-convolution FLOPs ÷ time (for Winograd
     * the effective rate, which can exceed the machine's FMA peak).
     */
    public static KernelCase conv(String shape, ConvAlgorithm algorithm) { return conv(shape, algorithm, DType.F32); }

    /** As above with the weight stored as {@code dtype} (F16/BF16 kept 16-bit in the direct convolution's packing). */
    public static KernelCase conv(String shape, ConvAlgorithm algorithm, DType dtype) {
        String[] at = shape.split("@");
        String[] p = at[0].split("-");
        String[] hw = at[1].split("x");
        int cin = Integer.parseInt(p[0]), cout = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]), stride = Integer.parseInt(p[3]);
        int h = Integer.parseInt(hw[0]), w = Integer.parseInt(hw[1]);
        int pad = k / 2;
        int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
        return new KernelCase("conv", shape, 2.0 * cout * cin * k * k * oh * ow, 0, () -> {
            Conv2d conv = new Conv2d(weight("w", dtype, random(3, cout * cin * k * k), cout, cin, k, k),
                    WeightTensor.ofFloats("b", random(4, cout), cout), stride, pad, algorithm);
            Tensor x = Tensor.of(random(5, cin * h * w), 1, cin, h, w);
            Workspace ws = new Workspace();
            return () -> ws.release(conv.forward(ws, x));
        });
    }

    public static KernelCase depthwise(String spec) {
        String[] kindRest = spec.split(" ");
        String[] at = kindRest[1].split("@");
        String[] p = at[0].split("-");
        String[] hw = at[1].split("x");
        int h = Integer.parseInt(hw[0]), w = Integer.parseInt(hw[1]);
        int c = Integer.parseInt(p[0]);
        if (kindRest[0].equals("dw")) {
            int stride = Integer.parseInt(p[1]);
            int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
            return new KernelCase("depthwise", kindRest[1], 0, 4.0 * c * (h * w + oh * ow), () -> {
                DepthwiseConv2d dw = new DepthwiseConv2d(WeightTensor.ofFloats("w", random(6, c * 9), c, 1, 3, 3),
                        WeightTensor.ofFloats("b", random(7, c), c), stride, 1);
                Tensor x = Tensor.of(random(8, c * h * w), 1, c, h, w);
                Workspace ws = new Workspace();
                return () -> ws.release(dw.forward(ws, x));
            });
        }
        int cout = Integer.parseInt(p[1]), stride = Integer.parseInt(p[2]);
        int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
        return new KernelCase("separable", kindRest[1], 2.0 * oh * ow * (9.0 * c + (double) c * cout), 0, () -> {
            SeparableConv2d sep = new SeparableConv2d(WeightTensor.ofFloats("dw", random(6, c * 9), c, 1, 3, 3),
                    WeightTensor.ofFloats("db", random(7, c), c),
                    WeightTensor.ofFloats("pw", random(9, cout * c), cout, c, 1, 1), WeightTensor.ofFloats("pb", random(10, cout), cout), stride);
            Tensor x = Tensor.of(random(8, c * h * w), 1, c, h, w);
            Workspace ws = new Workspace();
            return () -> ws.release(sep.forward(ws, x));
        });
    }

    public static KernelCase attention(String spec) {
        String[] sh = spec.split(" ");
        String[] p = sh[0].split("x");
        int tq = Integer.parseInt(p[0]), tk = Integer.parseInt(p[1]), ch = Integer.parseInt(p[2]);
        int heads = Integer.parseInt(sh[1].substring(1));
        return new KernelCase("attention", spec, 4.0 * tq * tk * ch, 0, () -> {
            Tensor q = Tensor.of(random(11, tq * ch), 1, tq, ch);
            Tensor k = Tensor.of(random(12, tk * ch), 1, tk, ch);
            Tensor v = Tensor.of(random(13, tk * ch), 1, tk, ch);
            Workspace ws = new Workspace();
            return () -> ws.release(Attention.forward(ws, q, k, v, heads, Attention.Kind.SOFTMAX, false));
        });
    }
}
