package io.sdj.bench;

import io.sdj.core.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
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
 * The machine's fused-multiply-add ceiling as the JVM reaches it: a register-only loop of independent vector FMAs
 * (12 accumulators, enough to hide the FMA latency on two FMA ports), on 1 or 2 threads. The reference every
 * "fraction of peak" in the README is measured against, in the same run. FLOPs per op = 2 × lanes × 12 × ITERATIONS × threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class FmaPeakBench {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int ITERATIONS = 1 << 20;

    @Param({"1", "2"})
    public int threads;

    private Runnable op;

    @Setup
    public void setup() {
        // read by engine-bench/gemm-vs-openblas.sh to turn ms/op into GFLOP/s (the forked JVM's own vector width)
        System.out.println("fma peak lanes " + S.length());
        Parallel.setThreads(threads);
        op = op(threads);
    }

    /** GFLOP of one {@link #fma()} call (JMH reports ms/op). */
    public static double gflopPerOp(int threads) {
        return 2.0 * S.length() * 12 * ITERATIONS * threads / 1e9;
    }

    @Benchmark
    public void fma() {
        op.run();
    }

    /**
     * The loop on {@code threads} {@link Parallel} workers (set them first), each writing its sum to its own slot of an
     * array the runnable keeps, so the JIT cannot drop the work: one run is {@link #gflopPerOp}(threads) GFLOP. What
     * {@link #fma()} times under JMH and {@link #measure} outside it.
     */
    private static Runnable op(int threads) {
        float[] sink = new float[threads * S.length()];
        return () -> Parallel.forEach(threads, t -> sink[t * S.length()] = loop(t + 1f));
    }

    /** One timing of the loop: median milliseconds per run and the GFLOP/s that makes. */
    public record Measured(double ms, double gflopPerSecond) {}

    /**
     * Times {@link #op} with {@link QuickTimer} (warm-up ≥ {@code warmupMs}, median of ≥ {@code measureMs}) on the
     * current {@link Parallel} threads: the same-run ceiling that {@code sdj bench kernels} and {@code sdj profile} print.
     */
    public static Measured measure(int threads, long warmupMs, long measureMs) {
        double ms = QuickTimer.medianMs(op(threads), warmupMs, measureMs);
        return new Measured(ms, gflopPerOp(threads) / (ms / 1e3));
    }

    private static float loop(float seed) {
        FloatVector m = FloatVector.broadcast(S, 0.999999f), a = FloatVector.broadcast(S, 1e-7f);
        FloatVector c0 = FloatVector.broadcast(S, seed), c1 = c0.add(1), c2 = c0.add(2), c3 = c0.add(3), c4 = c0.add(4), c5 = c0.add(5),
                c6 = c0.add(6), c7 = c0.add(7), c8 = c0.add(8), c9 = c0.add(9), c10 = c0.add(10), c11 = c0.add(11);
        for (int i = 0; i < ITERATIONS; i++) {
            c0 = c0.fma(m, a); c1 = c1.fma(m, a); c2 = c2.fma(m, a); c3 = c3.fma(m, a); c4 = c4.fma(m, a); c5 = c5.fma(m, a);
            c6 = c6.fma(m, a); c7 = c7.fma(m, a); c8 = c8.fma(m, a); c9 = c9.fma(m, a); c10 = c10.fma(m, a); c11 = c11.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
