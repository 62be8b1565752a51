package io.sdj.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The table of {@code sdj bench kernels}: the FMA loop's row before and after the cases, and each GFLOP/s rate's
 * share of the one before. Nothing here depends on how fast anything runs.
 */
class KernelTableTest {

    private static void sleep() {
        try {
            Thread.sleep(2);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void everyFlopRateIsPrintedWithItsShareOfTheFmaPeakMeasuredBeforeIt() {
        // a case of known work whose rate is far from 0 whatever the machine (its share must come out of the arithmetic,
        // not out of rounding), a real GEMM, and a memory-bound case (GB/s: no share)
        KernelCase known = new KernelCase("probe", "2 ms of 1e13 FLOP", 1e13, 0, () -> KernelTableTest::sleep);
        KernelCase bytes = new KernelCase("copy", "2 ms of 1e9 B", 0, 1e9, () -> KernelTableTest::sleep);
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        KernelTable.run(List.of(known, KernelCase.gemm("48x64x32"), bytes), 1, 20, 50,
                new PrintStream(buffer, true, StandardCharsets.UTF_8));
        List<String> lines = buffer.toString(StandardCharsets.UTF_8).lines().toList();

        assertThat(lines).hasSize(7);
        assertThat(lines.get(0)).startsWith("kernel variant ");
        assertThat(lines.get(1).split("\\s+")).containsSubsequence("op", "shape", "threads", "median", "ms", "rate", "of", "peak");
        assertThat(lines.get(2)).startsWith("fma peak").contains("register loop, before").endsWith("GFLOP/s");
        assertThat(lines.get(6)).startsWith("fma peak").contains("register loop, after").endsWith("GFLOP/s");
        double peak = rate(lines.get(2), 2);
        assertThat(peak).isPositive();
        assertThat(rate(lines.get(6), 2)).isPositive();

        String[] probe = lines.get(3).split("\\s+");
        assertThat(probe[probe.length - 2]).isEqualTo("GFLOP/s");
        double probeRate = rate(lines.get(3), 3);
        // the printed rates are rounded to 0.1 and the share to 1
        double lo = 100 * (probeRate - 0.05) / (peak + 0.05) - 0.5, hi = 100 * (probeRate + 0.05) / (peak - 0.05) + 0.5;
        assertThat(share(probe[probe.length - 1])).isBetween(lo, hi);

        String[] gemm = lines.get(4).split("\\s+");
        assertThat(gemm[0]).isEqualTo("gemm");
        assertThat(gemm[gemm.length - 2]).isEqualTo("GFLOP/s");
        assertThat(gemm[gemm.length - 1]).endsWith("%");

        assertThat(lines.get(5)).startsWith("copy").endsWith("GB/s");
    }

    /** The number {@code fromEnd} fields before a row's end (1 = the last field). */
    private static double rate(String row, int fromEnd) {
        String[] f = row.split("\\s+");
        return Double.parseDouble(f[f.length - fromEnd]);
    }

    private static double share(String field) {
        assertThat(field).endsWith("%");
        return Double.parseDouble(field.substring(0, field.length() - 1));
    }
}
