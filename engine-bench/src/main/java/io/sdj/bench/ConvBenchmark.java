package io.sdj.bench;

import io.sdj.core.Parallel;
import io.sdj.ops.ConvAlgorithm;
import io.sdj.ops.KernelVariant;
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

import java.util.concurrent.TimeUnit;

/**
 * Convolutions at SD1.5 / BK-SDM-Tiny UNet shapes (64×64 latent), and the decoders' (TAESD's 64 channels at 256²
 * and 512², its 64 → 3 output conv at 512², the VAE's 128 channels); {@link KernelReport} turns ms/op into GFLOP/s
 * (direct-convolution FLOPs ÷ time, also for Winograd).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ConvBenchmark {
    @Param({"320-320-3-1@64x64", "640-640-3-1@32x32", "1280-1280-3-1@16x16", "1280-1280-3-1@8x8", "320-320-3-2@64x64", "640-640-3-2@32x32", "1280-1280-3-2@16x16", "320-640-1-1@32x32", "640-1280-1-1@16x16", "4-320-3-1@64x64", "320-4-3-1@64x64", "64-64-3-1@256x256", "128-128-3-1@256x256",
            "64-64-3-1@512x512", "64-3-3-1@512x512"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    /** direct, winograd or auto (Winograd where {@code ConvAlgorithm.AUTO} picks it); the rate is always direct FLOPs ÷ time. */
    @Param({"direct", "winograd", "auto"})
    public String conv;

    /** Dtype of the weights: f32, or f16 / bf16, packed in 16 bits and widened in the kernel ({@code -Dsdj.weights.packed=auto}). */
    @Param({"f32"})
    public String weights;

    private Runnable op;

    @Setup
    public void setup() {
        System.out.println("kernel variant " + KernelVariant.describe());
        Parallel.setThreads(threads);
        op = KernelCase.conv(shape, ConvAlgorithm.valueOf(conv.toUpperCase(java.util.Locale.ROOT)), io.sdj.core.DType.parse(weights)).factory().get();
    }

    @Benchmark
    public void conv() { op.run(); }
}
