package io.sdj.bench;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Activation;
import io.sdj.ops.Activations;
import io.sdj.ops.Attention;
import io.sdj.ops.Conv2d;
import io.sdj.ops.DepthwiseConv2d;
import io.sdj.ops.GatedLinear;
import io.sdj.ops.Gemm;
import io.sdj.ops.Linear;
import io.sdj.ops.PackedMatrix;
import io.sdj.ops.ReluAttention;
import io.sdj.ops.SeparableConv2d;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The efficient UNet blocks' fast paths at MobileDiffusion's full-size shapes (640 channels at a 32×32 latent,
 * 1024 at 16×16; head size 64; feed-forward expansion 3; the {@code h14} attention rows are MobileDiffusion-Lite's
 * 16×16 mid block, 896 channels), each beside the dense / softmax / unfused equivalent of the
 * same shape, batch 1:
 * <ul>
 * <li>{@code sep C@HxW} separable 3×3 (depthwise + pointwise, both biases) as {@code SeparableConv2d} runs it (two
 *     passes by default; with {@code -jvmArgsAppend -Dsdj.separable.fused=true} the depthwise computed inside the
 *     pointwise GEMM's tiles) vs {@code sep-2pass} (always depthwise written whole, then the 1×1 conv) vs
 *     {@code dense C@HxW} 3×3 conv C → C;</li>
 * <li>{@code relu|softmax Tq x Tk d64 hH} attention vs {@code gemm …} the P·V-sized GEMM [Tq, Tk]·[Tk, H·64]
 *     (FLOPs of the attention = 2 × that GEMM's; GFLOP/s is reported on each op's own FLOPs);</li>
 * <li>{@code ff-fused|ff-unfused dim x tokens} the SwiGLU projection dim → 2·3·dim with the gate in the GEMM epilogue
 *     vs the projection followed by a separate SwiGLU pass.</li>
 * </ul>
 * GFLOP/s = {@link #flops} / time. Run: {@code ./sdj jmh EfficientBlocksBench} (JMH), or for a quick table
 * {@code java -cp engine-bench/target/benchmarks.jar io.sdj.bench.EfficientBlocksBench [threads]}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class EfficientBlocksBench {
    public static final String[] CASES = {
            "sep 640@32x32", "sep-2pass 640@32x32", "dense 640@32x32", "sep 1024@16x16", "sep-2pass 1024@16x16", "dense 1024@16x16",
            "relu 1024x1024 d64 h10", "softmax 1024x1024 d64 h10", "gemm 1024x1024 d64 h10",
            "relu 256x256 d64 h16", "softmax 256x256 d64 h16", "gemm 256x256 d64 h16",
            "relu 1024x77 d64 h10", "softmax 1024x77 d64 h10", "gemm 1024x77 d64 h10",
            "relu 256x256 d64 h14", "gemm 256x256 d64 h14", "relu 256x77 d64 h14", "gemm 256x77 d64 h14",
            "ff-fused 640x1024", "ff-unfused 640x1024", "ff-fused 1024x256", "ff-unfused 1024x256"};

    @Param({"sep 640@32x32", "sep-2pass 640@32x32", "dense 640@32x32", "sep 1024@16x16", "sep-2pass 1024@16x16", "dense 1024@16x16",
            "relu 1024x1024 d64 h10", "softmax 1024x1024 d64 h10", "gemm 1024x1024 d64 h10",
            "relu 256x256 d64 h16", "softmax 256x256 d64 h16", "gemm 256x256 d64 h16",
            "relu 1024x77 d64 h10", "softmax 1024x77 d64 h10", "gemm 1024x77 d64 h10",
            "relu 256x256 d64 h14", "gemm 256x256 d64 h14", "relu 256x77 d64 h14", "gemm 256x77 d64 h14",
            "ff-fused 640x1024", "ff-unfused 640x1024", "ff-fused 1024x256", "ff-unfused 1024x256"})
    public String op;

    @Param({"1", "2"})
    public int threads;

    private Runnable run;

    @Setup
    public void setup() {
        Parallel.setThreads(threads);
        run = build(op);
    }

    @Benchmark
    public void run() { run.run(); }

    static float[] random(long seed, int n, float amp) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (2 * r.nextDouble() - 1) * amp;
        return a;
    }

    /** FLOPs of one call of {@code op} (2 per multiply-add; biases and activations not counted). */
    public static double flops(String op) {
        String[] p = op.split(" ");
        switch (p[0]) {
            case "sep", "sep-2pass", "dense" -> {
                String[] s = p[1].split("[@x]");
                double c = Double.parseDouble(s[0]), hw = Double.parseDouble(s[1]) * Double.parseDouble(s[2]);
                return p[0].startsWith("sep") ? 2 * hw * (9 * c + c * c) : 2 * hw * 9 * c * c;
            }
            case "relu", "softmax", "gemm" -> {
                String[] s = p[1].split("x");
                double tq = Double.parseDouble(s[0]), tk = Double.parseDouble(s[1]);
                double inner = Double.parseDouble(p[2].substring(1)) * Double.parseDouble(p[3].substring(1));
                return (p[0].equals("gemm") ? 2 : 4) * tq * tk * inner;
            }
            case "ff-fused", "ff-unfused" -> {
                String[] s = p[1].split("x");
                double dim = Double.parseDouble(s[0]), tokens = Double.parseDouble(s[1]);
                return 2 * tokens * dim * 2 * 3 * dim;
            }
            default -> throw new IllegalArgumentException("unknown op " + op);
        }
    }

    static Runnable build(String op) {
        Workspace ws = new Workspace();
        String[] p = op.split(" ");
        switch (p[0]) {
            case "sep", "sep-2pass", "dense" -> {
                String[] s = p[1].split("[@x]");
                int c = Integer.parseInt(s[0]), h = Integer.parseInt(s[1]), w = Integer.parseInt(s[2]);
                Tensor x = Tensor.of(random(1, c * h * w, 1f), 1, c, h, w);
                if (p[0].equals("sep-2pass")) {
                    DepthwiseConv2d dw = new DepthwiseConv2d(WeightTensor.ofFloats("dw", random(2, c * 9, 0.3f), c, 1, 3, 3),
                            WeightTensor.ofFloats("dwb", random(3, c, 0.1f), c), 1, 1);
                    Conv2d pw = new Conv2d(WeightTensor.ofFloats("pw", random(4, c * c, 0.05f), c, c, 1, 1), WeightTensor.ofFloats("pwb", random(5, c, 0.1f), c), 1, 0);
                    return () -> {
                        Tensor mid = dw.forward(ws, x);
                        ws.release(pw.forward(ws, mid));
                        ws.release(mid);
                    };
                }
                if (p[0].equals("sep")) {
                    SeparableConv2d sep = new SeparableConv2d(WeightTensor.ofFloats("dw", random(2, c * 9, 0.3f), c, 1, 3, 3),
                            WeightTensor.ofFloats("dwb", random(3, c, 0.1f), c), WeightTensor.ofFloats("pw", random(4, c * c, 0.05f), c, c, 1, 1),
                            WeightTensor.ofFloats("pwb", random(5, c, 0.1f), c), 1);
                    return () -> ws.release(sep.forward(ws, x));
                }
                Conv2d conv = new Conv2d(WeightTensor.ofFloats("w", random(2, c * c * 9, 0.02f), c, c, 3, 3), WeightTensor.ofFloats("b", random(3, c, 0.1f), c), 1, 1);
                return () -> ws.release(conv.forward(ws, x));
            }
            case "relu", "softmax", "gemm" -> {
                String[] s = p[1].split("x");
                int tq = Integer.parseInt(s[0]), tk = Integer.parseInt(s[1]), d = Integer.parseInt(p[2].substring(1)), heads = Integer.parseInt(p[3].substring(1));
                int inner = d * heads;
                Tensor q = Tensor.of(random(1, tq * inner, 1f), 1, tq, inner), k = Tensor.of(random(2, tk * inner, 1f), 1, tk, inner);
                Tensor v = Tensor.of(random(3, tk * inner, 1f), 1, tk, inner);
                float scale = (float) (1 / Math.sqrt(d));
                return switch (p[0]) {
                    case "relu" -> () -> ws.release(ReluAttention.forward(ws, q, k, v, heads, scale));
                    case "softmax" -> () -> ws.release(Attention.forward(ws, q, k, v, heads, Attention.Kind.SOFTMAX, false, scale));
                    default -> {
                        float[] a = random(4, tq * tk, 1f), c = new float[tq * inner];
                        PackedMatrix b = PackedMatrix.columnPanels(random(5, tk * inner, 1f), tk, inner);
                        yield () -> Gemm.multiply(a, 0, tk, tq, b, c, 0, inner, null, Activation.NONE, null);
                    }
                };
            }
            case "ff-fused", "ff-unfused" -> {
                String[] s = p[1].split("x");
                int dim = Integer.parseInt(s[0]), tokens = Integer.parseInt(s[1]), inner = 3 * dim;
                Tensor x = Tensor.of(random(1, tokens * dim, 1f), 1, tokens, dim);
                WeightTensor w = WeightTensor.ofFloats("ff.net.0.proj.weight", random(2, 2 * inner * dim, (float) Math.sqrt(3.0 / dim)), 2 * inner, dim);
                WeightTensor b = WeightTensor.ofFloats("ff.net.0.proj.bias", random(3, 2 * inner, 0.02f), 2 * inner);
                if (p[0].equals("ff-fused")) {
                    GatedLinear g = new GatedLinear(w, b, Activation.SILU);
                    return () -> ws.release(g.forward(ws, x));
                }
                Linear l = new Linear(w, b);
                return () -> {
                    Tensor z = l.forward(ws, x);
                    ws.release(Activations.swiglu(ws, z));
                    ws.release(z);
                };
            }
            default -> throw new IllegalArgumentException("unknown op " + op);
        }
    }

    /** Quick table (not JMH): median ms and GFLOP/s of every case, each pair measured back to back. */
    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        Parallel.setThreads(threads);
        String[] cases = args.length > 1 ? args[1].split(",") : CASES;
        for (String op : cases) {
            Runnable r = build(op);
            double ms = QuickTimer.medianMs(r, 500, 1500);
            System.out.printf(Locale.ROOT, "%-28s threads %d  %9.3f ms  %7.1f GFLOP/s%n", op, threads, ms, flops(op) / ms / 1e6);
        }
    }
}
