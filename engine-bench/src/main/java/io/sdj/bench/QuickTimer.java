package io.sdj.bench;

import java.util.Arrays;

/**
 * Median time of an operation with a fixed warm-up discipline, for quick command-line runs (JMH remains the
 * reference): warm up for at least {@code warmupMs} and 2 runs, then time at least {@code measureMs} and 5 runs.
 * An operation slower than half a second gets 1 warm-up and 3 timed runs, to keep a quick run quick.
 */
public final class QuickTimer {
    private QuickTimer() {}

    /** Median milliseconds per run. */
    public static double medianMs(Runnable op, long warmupMs, long measureMs) {
        long t0 = System.nanoTime();
        op.run();
        boolean slow = System.nanoTime() - t0 > 500_000_000L;
        long end = t0 + warmupMs * 1_000_000;
        for (int i = 1; !slow && (i < 2 || System.nanoTime() < end); i++) op.run();
        double[] t = new double[64];
        int n = 0;
        end = System.nanoTime() + measureMs * 1_000_000;
        int minRuns = slow ? 3 : 5;
        while (n < minRuns || (!slow && System.nanoTime() < end && n < t.length)) {
            long s0 = System.nanoTime();
            op.run();
            t[n++] = (System.nanoTime() - s0) / 1e6;
        }
        double[] s = Arrays.copyOf(t, n);
        Arrays.sort(s);
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
