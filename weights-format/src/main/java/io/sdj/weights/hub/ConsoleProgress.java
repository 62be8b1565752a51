package io.sdj.weights.hub;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * One rewritten line per file on a console stream (stderr): bytes so far and total, percentage, rate and time left,
 * at most five updates a second; the final line stays.
 */
public final class ConsoleProgress implements DownloadProgress {
    private final PrintWriter out;
    private long startNanos, lastPrint, resumedFrom;

    public ConsoleProgress(PrintWriter out) { this.out = out; }

    public static ConsoleProgress stderr() { return new ConsoleProgress(new PrintWriter(System.err, true)); }

    @Override
    public void started(String file, long total, long resumed) {
        startNanos = System.nanoTime();
        lastPrint = 0;
        resumedFrom = resumed;
        if (resumed > 0) {
            out.println(String.format(Locale.ROOT, "%s: resuming at %s of %s", file, size(resumed), total < 0 ? "?" : size(total)));
        }
        print(file, resumed, total, false);
    }

    @Override
    public void advanced(String file, long done, long total) {
        long now = System.nanoTime();
        if (now - lastPrint < 200_000_000L) return;
        lastPrint = now;
        print(file, done, total, false);
    }

    @Override
    public void finished(String file, long total, boolean cached) {
        if (cached) {
            out.println(String.format(Locale.ROOT, "%s: in the cache (%s)", file, total < 0 ? "?" : size(total)));
        } else {
            print(file, total, total, true);
            out.println();
        }
        out.flush();
    }

    private void print(String file, long done, long total, boolean last) {
        double secs = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
        double rate = (done - resumedFrom) / secs;
        StringBuilder s = new StringBuilder("\r").append(file).append("  ").append(size(done));
        if (total >= 0) s.append(" / ").append(size(total)).append(String.format(Locale.ROOT, "  %3d%%", total == 0 ? 100 : (int) (100 * done / total)));
        s.append("  ").append(size((long) rate)).append("/s");
        if (last) {
            s.append(String.format(Locale.ROOT, "  in %.1f s", secs));
        } else if (total >= 0 && rate > 0) {
            s.append(String.format(Locale.ROOT, "  ETA %s", duration((total - done) / rate)));
        }
        s.append("   ");
        out.print(s);
        out.flush();
    }

    static String size(long b) {
        if (b < 1024) return b + " B";
        if (b < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        if (b < 1024L * 1024 * 1024) return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
        return String.format(Locale.ROOT, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    }

    static String duration(double s) {
        if (s < 60) return String.format(Locale.ROOT, "%.0f s", s);
        if (s < 3600) return String.format(Locale.ROOT, "%d min %02d s", (long) s / 60, (long) s % 60);
        return String.format(Locale.ROOT, "%d h %02d min", (long) s / 3600, (long) s % 3600 / 60);
    }
}
