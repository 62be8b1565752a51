package io.sdj.bench;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.vae.RandomWeights;
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

import java.util.concurrent.TimeUnit;

/**
 * One TAESD decode (taesd.py's fixed topology, 4 latent channels, deterministic synthetic weights) of a batch-1
 * latent of {@code size}² (64 → 512² image, ≈ 141 GFLOP).
 * <p>Run through {@link #main} for GFLOP/s beside the times:
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp engine-bench/target/benchmarks.jar
 * io.sdj.bench.TaesdDecoderBench [JMH options, e.g. -p size=32]}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class TaesdDecoderBench {
    @Param({"64"})
    public int size;

    private TaesdDecoder decoder;
    private Workspace ws;
    private Tensor latents;

    @Setup(Level.Trial)
    public void setup() {
        try (RandomWeights w = new RandomWeights(TaesdDecoder.parameterShapes(4), 1234, "synthetic TAESD decoder")) {
            decoder = TaesdDecoder.load(w);
        }
        ws = new Workspace();
        latents = VaeDecoderBench.gaussian(7, 1, 4, size, size);
    }

    @Benchmark
    public float decode() {
        Tensor image = decoder.forward(ws, latents, Trace.NONE);
        float v = image.data()[0];
        ws.release(image);
        return v;
    }

    static double gflop(int size) {
        try (RandomWeights w = new RandomWeights(TaesdDecoder.parameterShapes(4), 1, "cost only")) {
            return TaesdDecoder.load(w).flops(1, size, size) / 1e9;
        }
    }

    public static void main(String[] args) throws Exception {
        VaeDecoderBench.report(args, TaesdDecoderBench.class, TaesdDecoderBench::gflop);
    }
}
