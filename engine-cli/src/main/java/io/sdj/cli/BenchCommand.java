package io.sdj.cli;

import io.sdj.bench.KernelCase;
import io.sdj.bench.KernelTable;
import io.sdj.core.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code sdj bench}: quick performance checks (the JMH jar in engine-bench is the reference). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Quick benchmarks. JMH (engine-bench/target/benchmarks.jar) remains the reference measurement.",
        subcommands = {BenchCommand.Kernels.class})
public final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code sdj bench kernels}: GEMM, convolution and attention at model shapes, one table, about a minute. */
    @Command(name = "kernels", mixinStandardHelpOptions = true,
            description = {"Time GEMM at the five issue shapes (and one with its weights from memory, gemm-cold: 1 GiB of weight copies), the main SD1.5 UNet convolutions (64×64 latent) and attention.",
                    "Prints op, shape, threads, median ms and GFLOP/s (GB/s for memory-bound ops), and this machine's FMA peak",
                    "(a register-only loop at the same thread count) before and after, with each GFLOP/s rate's share of it."})
    static final class Kernels implements Callable<Integer> {
        @Option(names = "--threads", paramLabel = "N", description = "threads (default: all processors)")
        Integer threads;

        @Option(names = "--filter", paramLabel = "TEXT", description = "only cases whose 'op shape' contains TEXT")
        String filter;

        @Option(names = "--all", description = "every case of the JMH suites (depthwise, stride-2, 1×1 ...), takes longer")
        boolean all;

        @Override
        public Integer call() {
            int n = threads == null ? Parallel.threads() : threads;
            if (n < 1) throw new IllegalArgumentException("--threads must be ≥ 1, got " + n);
            List<KernelCase> cases = all ? KernelCase.all() : quickCases();
            if (filter != null) cases = cases.stream().filter(c -> c.id().contains(filter)).toList();
            if (cases.isEmpty()) throw new IllegalArgumentException("no kernel case matches --filter '" + filter + "'");
            PrintStream out = System.out;
            out.println("sdj bench kernels: " + cases.size() + " cases, " + n + " thread(s), warm-up ≥ 0.3 s, median of ≥ 0.7 s");
            KernelTable.run(cases, n, 300, 700, out);
            return 0;
        }

        static List<KernelCase> quickCases() {
            List<KernelCase> l = new ArrayList<>();
            for (String s : KernelCase.GEMM_SHAPES) l.add(KernelCase.gemm(s));
            // the regime a UNet's projections run in: each call's weights from memory (1 GiB of copies, packed first)
            l.add(KernelCase.gemmCold());
            for (String s : new String[]{"320-320-3-1@64x64", "640-640-3-1@32x32", "1280-1280-3-1@16x16", "320-320-3-2@64x64", "640-1280-1-1@16x16"}) {
                l.add(KernelCase.conv(s));
            }
            for (String s : new String[]{"4096x77x320 h8", "1024x1024x640 h8", "4096x4096x320 h8"}) l.add(KernelCase.attention(s));
            return l;
        }
    }
}
