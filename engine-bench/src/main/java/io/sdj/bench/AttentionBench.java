package io.sdj.bench;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Attention;
import io.sdj.ops.KernelVariant;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Attention at the SD 1.5 UNet shapes for a 64×64 latent (batch 1, 8 heads): self-attention over 4096/1024/256 tokens
 * with head dims 40/80/160, and cross-attention against 77 text tokens. FLOPs per call: 4·Tq·Tk·d·heads (Q·Kᵀ and
 * P·V, 2 per multiply-add), so GFLOP/s = {@link #flops} / time.
 * Run: {@code java --add-modules jdk.incubator.vector -jar engine-bench/target/benchmarks.jar AttentionBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class AttentionBench {
    /** tq x tk x d, 8 heads. */
    @Param({"4096x4096x40", "1024x1024x80", "256x256x160", "4096x77x40", "1024x77x80", "256x77x160"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    Workspace ws;
    Tensor q, k, v;
    static final int HEADS = 8;

    @Setup(Level.Trial)
    public void setup() {
        System.out.println("kernel variant " + KernelVariant.describe());
        String[] p = shape.split("x");
        int tq = Integer.parseInt(p[0]), tk = Integer.parseInt(p[1]), d = Integer.parseInt(p[2]);
        Random rnd = new Random(1);
        q = random(rnd, 1, tq, HEADS * d);
        k = random(rnd, 1, tk, HEADS * d);
        v = random(rnd, 1, tk, HEADS * d);
        ws = new Workspace();
        Parallel.setThreads(threads);
    }

    static Tensor random(Random rnd, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] a = t.data();
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        return t;
    }

    /** FLOPs of one call. */
    public static double flops(String shape) {
        String[] p = shape.split("x");
        return 4.0 * Double.parseDouble(p[0]) * Double.parseDouble(p[1]) * Double.parseDouble(p[2]) * HEADS;
    }

    @Benchmark
    public Tensor softmax() {
        Tensor out = Attention.forward(ws, q, k, v, HEADS, Attention.Kind.SOFTMAX, false);
        ws.release(out);
        return out;
    }
}
