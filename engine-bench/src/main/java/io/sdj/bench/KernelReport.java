package io.sdj.bench;

import io.sdj.core.DType;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.util.Collection;
import java.util.Locale;

/**
 * Runs JMH (same command-line options as the benchmarks jar, e.g. {@code GemmBenchmark -p threads=1}) and then
 * prints each kernel result as a rate: GFLOP/s from the known FLOP count, GB/s for memory-bound cases.
 * <pre>java --add-modules jdk.incubator.vector -cp engine-bench/target/benchmarks.jar io.sdj.bench.KernelReport GemmBenchmark</pre>
 */
public final class KernelReport {
    private KernelReport() {}

    public static void main(String[] args) throws Exception {
        Collection<RunResult> results = new Runner(new CommandLineOptions(args)).run();
        System.out.printf(Locale.ROOT, "%n%-10s %-22s %7s %10s %10s%n", "op", "shape", "threads", "ms/op", "rate");
        for (RunResult r : results) {
            var params = r.getParams();
            String bench = params.getBenchmark();
            String shape = params.getParam("shape");
            KernelCase c;
            if (bench.contains("GemmBenchmark")) {
                String cache = params.getParam("weightCache");   // hot or cold: op "gemm" or "gemm-cold"
                c = KernelCase.gemm(shape, DType.F32, cache == null ? 0 : KernelCase.coldBytes(cache));
            }
            else if (bench.contains("ConvBenchmark")) c = KernelCase.conv(shape);
            else if (bench.contains("DepthwiseBenchmark")) c = KernelCase.depthwise(shape);
            else continue;
            double ms = r.getPrimaryResult().getScore();
            System.out.printf(Locale.ROOT, "%-10s %-22s %7s %10.3f %10.1f %s%n", c.op(), c.shape(), params.getParam("threads"), ms, c.rate(ms), c.unit());
        }
    }
}
