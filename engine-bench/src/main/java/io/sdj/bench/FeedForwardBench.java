package io.sdj.bench;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Activation;
import io.sdj.ops.GatedLinear;
import io.sdj.ops.Linear;
import java.util.concurrent.TimeUnit;
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

/**
 * A transformer feed-forward's input projection, tokens × dim → 2 · 4·dim, at the SD 1.5 / BK-SDM shapes of a 64×64
 * latent (4096 × 320, 1024 × 640, 256 × 1280): the gated linear unit with its gate in the GEMM epilogue
 * ({@code gate=gelu}: GEGLU, {@code silu}: SwiGLU) writing the 4·dim outputs, and for reference the plain
 * {@link Linear} writing all 2 · 4·dim columns ({@code none}). GFLOP per call = 2 · tokens · dim · 8·dim (the
 * gate's arithmetic not counted). Gate pre-activations have a standard deviation of about 1, so both GELU branches
 * (|x| below and above √2) occur in every vector, as in a real model.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class FeedForwardBench {
    @Param({"4096x320", "1024x640", "256x1280"})
    public String shape;

    @Param({"gelu", "silu", "none"})
    public String gate;

    @Param({"1", "2"})
    public int threads;

    private Workspace ws;
    private Tensor x;
    private GatedLinear gated;
    private Linear plain;

    @Setup
    public void setup() {
        Parallel.setThreads(threads);
        String[] s = shape.split("x");
        int tokens = Integer.parseInt(s[0]), dim = Integer.parseInt(s[1]), inner = 4 * dim;
        x = Tensor.of(EfficientBlocksBench.random(1, tokens * dim, (float) Math.sqrt(3)), 1, tokens, dim);
        WeightTensor w = WeightTensor.ofFloats("ff.net.0.proj.weight",
                EfficientBlocksBench.random(2, 2 * inner * dim, (float) Math.sqrt(3.0 / dim)), 2 * inner, dim);
        WeightTensor b = WeightTensor.ofFloats("ff.net.0.proj.bias", EfficientBlocksBench.random(3, 2 * inner, 0.1f), 2 * inner);
        switch (gate) {
            case "gelu" -> gated = new GatedLinear(w, b, Activation.GELU);
            case "silu" -> gated = new GatedLinear(w, b, Activation.SILU);
            case "none" -> plain = new Linear(w, b);
            default -> throw new IllegalArgumentException("gate must be gelu, silu or none, got " + gate);
        }
        ws = new Workspace();
    }

    @Benchmark
    public Tensor projection() {
        Tensor y = gated != null ? gated.forward(ws, x) : plain.forward(ws, x);
        ws.release(y);
        return y;
    }
}
