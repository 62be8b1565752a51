package io.sdj.bench;

import java.util.Arrays;

/**
 * Median time of an operation with a fixed warm-up discipline, for quick command-line runs (JMH remains the
 * reference): warm up for at least {@code warmupMs} and 2 runs, then time at least {@code measureMs} and 5 runs.
 */
public final class QuickTimer {
    private QuickTimer() {}

    /** Median milliseconds per run. */
    public static double medianMs(Runnable op, long warmupMs, long measureMs) {
        long end = System.nanoTime() + warmupMs * 1_000_000;
        for (int i = 0; i < 2 || System.nanoTime() < end; i++) op.run();
        double[] t = new double[64];
        int n = 0;
        end = System.nanoTime() + measureMs * 1_000_000;
        while (n < 5 || (System.nanoTime() < end && n < t.length)) {
            long t0 = System.nanoTime();
            op.run();
            t[n++] = (System.nanoTime() - t0) / 1e6;
        }
        double[] s = Arrays.copyOf(t, n);
        Arrays.sort(s);
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
