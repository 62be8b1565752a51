package io.sdj.bench;

import io.sdj.core.Parallel;
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
 * GEMM (A in place, B pre-packed) at the five shapes, with the weights hot (in cache) or cold (from memory, as
 * in a UNet); {@link KernelReport} turns ms/op into GFLOP/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GemmBenchmark {
    @Param({"4096x320x2880", "1024x640x5760", "256x1280x11520", "2048x2048x2048", "4096x4096x40"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    /** Dtype of the weights: f32, or f16 / bf16, packed in 16 bits and widened in the kernel ({@code -Dsdj.weights.packed=auto}). */
    @Param({"f32"})
    public String weights;

    /**
     * Where B comes from: {@code hot}, one weight matrix for every call (in the caches wherever it fits), or
     * {@code cold}, distinct copies filling {@link KernelCase#COLD_BYTES} taken in turn, so each call reads B from
     * memory as a UNet does ({@code -p weightCache=cold}).
     */
    @Param({"hot"})
    public String weightCache;

    private Runnable op;

    @Setup
    public void setup() {
        System.out.println("kernel variant " + KernelVariant.describe());
        Parallel.setThreads(threads);
        op = KernelCase.gemm(shape, io.sdj.core.DType.parse(weights), KernelCase.coldBytes(weightCache)).factory().get();
    }

    @Benchmark
    public void gemm() { op.run(); }
}
