package io.sdj.models.profile;

import io.sdj.core.Tensor;
import io.sdj.models.Trace;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Trace} that timestamps every mark and recorded activation of one forward pass. The interval between two
 * consecutive stamps belongs to the part named by the later one, so the intervals tile the pass from
 * {@link #start} to the last stamp without gaps or overlaps: their sum is the pass's time up to the last mark. The
 * work per stamp is one {@link System#nanoTime} call and a list append (no tensor is read or copied).
 */
public final class PartClock implements Trace {
    private final List<String> names = new ArrayList<>();
    private final List<int[]> sizes = new ArrayList<>();
    private long[] ends = new long[256];
    private long start;

    /** Forgets the previous pass and starts timing now. */
    public void start() {
        names.clear();
        sizes.clear();
        start = System.nanoTime();
    }

    @Override
    public void record(String name, Tensor t) { stamp(name, t); }

    @Override
    public void mark(String name, Tensor output) { stamp(name, output); }

    /**
     * False: the clock only stamps, so the model keeps its fused paths (Trace's default, true for every trace but
     * {@link Trace#NONE}, had the profile time the UNet's output GroupNorm and SiLU as two passes, as generation never
     * runs them).
     */
    @Override
    public boolean keepsActivations() { return false; }

    private void stamp(String name, Tensor t) {
        long now = System.nanoTime();
        int i = names.size();
        if (i == ends.length) ends = java.util.Arrays.copyOf(ends, 2 * i);
        ends[i] = now;
        names.add(name);
        sizes.add(t != null && t.rank() == 4 ? new int[]{t.dim(2), t.dim(3)} : null);
    }

    public long startNanos() { return start; }

    public int stamps() { return names.size(); }

    public String name(int i) { return names.get(i); }

    /** Nanoseconds from the previous stamp (or {@link #start}) to stamp {@code i}. */
    public long interval(int i) { return ends[i] - (i == 0 ? start : ends[i - 1]); }

    public long endNanos(int i) { return ends[i]; }

    /** [H, W] of the stamp's tensor when it is an NCHW image, else null. */
    public int[] size(int i) { return sizes.get(i); }
}
