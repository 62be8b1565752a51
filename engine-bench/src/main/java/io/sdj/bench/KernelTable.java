package io.sdj.bench;

import io.sdj.core.Parallel;
import io.sdj.ops.KernelVariant;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * Times kernel cases with {@link QuickTimer} and prints one table: op, shape, threads, median ms, rate, and for
 * GFLOP/s rates their share of this machine's FMA peak ({@link FmaPeakBench}'s register-only loop, timed the same way
 * at the same thread count before the cases and again after them, so that a drifting machine shows).
 * Used by {@code sdj bench kernels}; run directly with {@code java -cp benchmarks.jar io.sdj.bench.KernelTable [threads] [filter]}.
 */
public final class KernelTable {
    private KernelTable() {}

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Parallel.threads();
        String filter = args.length > 1 ? args[1] : "";
        run(KernelCase.all().stream().filter(c -> c.id().contains(filter)).toList(), threads, 300, 700, System.out);
    }

    /** Runs every case at {@code threads} threads and prints the table as rows complete. */
    public static void run(List<KernelCase> cases, int threads, long warmupMs, long measureMs, PrintStream out) {
        int saved = Parallel.threads();
        Parallel.setThreads(threads);
        try {
            // One untimed run of every case first. Without it the first row measured 25–50% below JMH, whichever case
            // came first, even after 3 s of warm-up, while a second instance of the same case in the same JVM ran at
            // JMH's rate (2026-11-23); PrintCompilation showed the GEMM kernel being deoptimised and recompiled
            // around the end of the first case.
            for (KernelCase c : cases) c.factory().get().run();
            out.println("kernel variant " + KernelVariant.describe());
            out.printf(Locale.ROOT, "%-10s %-22s %7s %10s %10s %-8s %s%n", "op", "shape", "threads", "median ms", "rate", "", "of peak");
            double peak = peakRow(threads, "before", warmupMs, measureMs, out);
            for (KernelCase c : cases) {
                Runnable op = c.factory().get();
                double ms = QuickTimer.medianMs(op, warmupMs, measureMs);
                double rate = c.rate(ms);
                String share = c.unit().equals("GFLOP/s") ? String.format(Locale.ROOT, "%6.0f%%", 100 * rate / peak) : "";
                String row = String.format(Locale.ROOT, "%-10s %-22s %7d %10.3f %10.1f %-8s %s", c.op(), c.shape(), threads, ms, rate, c.unit(), share);
                out.println(row.stripTrailing());
                out.flush();
            }
            peakRow(threads, "after", warmupMs, measureMs, out);
        } finally {
            Parallel.setThreads(saved);
        }
    }

    /** Times the FMA loop, prints its row ("fma peak", before or after the cases) and returns its GFLOP/s. */
    private static double peakRow(int threads, String when, long warmupMs, long measureMs, PrintStream out) {
        FmaPeakBench.Measured peak = FmaPeakBench.measure(threads, warmupMs, measureMs);
        out.printf(Locale.ROOT, "%-10s %-22s %7d %10.3f %10.1f %s%n", "fma peak", "register loop, " + when, threads, peak.ms(),
                peak.gflopPerSecond(), "GFLOP/s");
        out.flush();
        return peak.gflopPerSecond();
    }
}
