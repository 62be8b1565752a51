package io.sdj.bench;

import io.sdj.core.Parallel;
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

/** Depthwise 3×3 (GB/s) and separable (GFLOP/s) convolutions (MobileDiffusion); {@link KernelReport} turns ms/op into GFLOP/s. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class DepthwiseBenchmark {
    @Param({"dw 320-1@64x64", "dw 640-1@32x32", "dw 320-2@64x64", "sep 320-320-1@64x64", "sep 640-640-1@32x32"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Runnable op;

    @Setup
    public void setup() {
        Parallel.setThreads(threads);
        op = KernelCase.depthwise(shape).factory().get();
    }

    @Benchmark
    public void depthwise() { op.run(); }
}
