package io.sdj.ops;

import io.sdj.core.Parallel;
import java.lang.invoke.MethodHandles;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels of {@link GroupNorm} and {@link LayerNorm}: two-pass mean and variance (no E[x²]−E[x]² cancellation),
 * float vector accumulators of ≤ 64 terms per lane whose sums are added in double (LayerNorm: blocks of {@link #BLOCK}
 * floats in four accumulators; GroupNorm: see STATS_FLUSH), so the relative error of a sum stays a few ulp whatever
 * its length. Each group / row is reduced by one task in a fixed order (no {@code reduceLanes(ADD)}, whose order may
 * vary): bit-identical for any thread count. GroupNorm runs its passes as a software pipeline over the groups (one
 * loop normalises a group while it takes the statistics of the next two), see {@link #groupNorm}.
 */
final class NormKernel implements GroupNorm.Kernel, LayerNorm.Kernel {
    static final VectorSpecies<Float> SP = SpeciesVariants.species(MethodHandles.lookup());
    private static final int L = SP.length();
    private static final int BLOCK = 1024;

    NormKernel() {}

    @Override
    public void groupNorm(float[] x, float[] y, float[] gamma, float[] beta, float[] shift, int n, int channels,
                          int groups, int spatial, float eps, boolean silu) {
        int cpg = channels / groups, len = cpg * spatial;
        // job j = b·groups + g is the group at x[j·len, (j+1)·len), its channels' shifts at shift[j·cpg, (j+1)·cpg);
        // each thread takes a contiguous run of jobs
        Parallel.forRange(n * groups, (from, to) -> {
            float[] lanes = new float[L], acc = new float[2 * L];
            double[] stats = new double[3];
            // A software pipeline over the run: the loop that normalises group j also sums group j+2 and takes group
            // j+1's squared deviations (its mean known from the previous round), so the statistics' loads overlap
            // the normalisation's arithmetic (the SiLU's exponential) and its stores. Without a group j+1 or j+2, or
            // for groups above PIPELINED_GROUP_MAX (whose statistics are then taken before their normalisation), the
            // loop reads group j itself there and the result is dropped. Each group's statistics are summed in the
            // same order whichever loop does it (see STATS_FLUSH): bit-identical for any thread count.
            // A shift t per channel needs no pass or addition per element: Σ(x + t) = Σx + spatial·t,
            // Σ(x + t − μ)² = Σ(x − (μ − t))², and γ(x + t − μ)/σ + β = x·sc + (β − (μ − t)·sc).
            boolean pipelined = len <= PIPELINED_GROUP_MAX;
            double mean = groupSum(x, shift, from, cpg, spatial, acc, stats, lanes) / len;
            double var = groupDeviations(x, shift, from, cpg, spatial, mean, acc, stats, lanes) / len;
            double nextSum = pipelined && from + 1 < to ? groupSum(x, shift, from + 1, cpg, spatial, acc, stats, lanes) : 0;
            for (int j = from; j < to; j++) {
                if (!pipelined && j > from) {
                    mean = groupSum(x, shift, j, cpg, spatial, acc, stats, lanes) / len;
                    var = groupDeviations(x, shift, j, cpg, spatial, mean, acc, stats, lanes) / len;
                }
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                double nextMean = nextSum / len;
                int base = j * len;
                int dev1 = pipelined && j + 1 < to ? j + 1 : j, sum2 = pipelined && j + 2 < to ? j + 2 : j;
                int g = j % groups;
                clear(acc, stats);
                for (int c = 0; c < cpg; c++) {
                    int ch = g * cpg + c, o = c * spatial;
                    float sc = gamma[ch] * inv, sh = (float) (beta[ch] - (mean - shift(shift, j, cpg, c)) * sc);
                    float devMean = (float) (nextMean - shift(shift, dev1, cpg, c));
                    if (silu) {
                        affineSiluAndStats(x, y, base + o, spatial, sc, sh, sum2 * len + o, dev1 * len + o, devMean, acc, stats, lanes);
                    } else {
                        affineAndStats(x, y, base + o, spatial, sc, sh, sum2 * len + o, dev1 * len + o, devMean, acc, stats, lanes);
                    }
                    stats[0] += (double) spatial * shift(shift, sum2, cpg, c);
                }
                flushSum(acc, stats, lanes);
                flushDeviations(acc, stats, lanes);
                mean = nextMean;
                var = stats[1] / len;
                nextSum = stats[0];
            }
        });
    }

    /**
     * Largest group (floats) run as the pipeline; larger ones take their three passes one group at a time. The
     * pipeline keeps three groups and an output group in flight: measured on this host's 2 MB L2 (1 thread), groups of
     * 256 KB ran 1.35–1.4× faster pipelined, 640 KB mixed (plain −6%, with SiLU +10%), 1 MB 7–24% slower.
     */
    private static final int PIPELINED_GROUP_MAX = 1 << 17;

    /** The shift of channel c of job j (0 without shifts). */
    private static float shift(float[] shift, int j, int cpg, int c) {
        return shift == null ? 0f : shift[j * cpg + c];
    }

    /*
     * The order of group norm's statistics. Per group, channel by channel: the vectors go into one vector accumulator
     * per statistic (acc[0, L) for Σx, acc[L, 2L) for Σ(x − μ)²), carried from channel to channel; each time it has
     * taken STATS_FLUSH vectors (≤ 64 float terms per lane) and at the end of the group its lanes are added in order
     * in float and that sum to the total in double; a channel's < L tail elements go to the total in double after its
     * vectors, then spatial·shift. stats = {Σx total, Σ(x − μ)² total, vectors since the last flush}. (A flush per
     * channel instead cost 20% of GroupNorm+SiLU at 1280 × 16²: 256-float channels.)
     */
    private static final int STATS_FLUSH = 64;

    private static void clear(float[] acc, double[] stats) {
        java.util.Arrays.fill(acc, 0f);
        java.util.Arrays.fill(stats, 0);
    }

    private static void flushSum(float[] acc, double[] stats, float[] lanes) {
        stats[0] += VectorMath.sumLanes(FloatVector.fromArray(SP, acc, 0), lanes);
        java.util.Arrays.fill(acc, 0, L, 0f);
    }

    private static void flushDeviations(float[] acc, double[] stats, float[] lanes) {
        stats[1] += VectorMath.sumLanes(FloatVector.fromArray(SP, acc, L), lanes);
        java.util.Arrays.fill(acc, L, 2 * L, 0f);
    }

    /** Σ (x + shift) over job j's group. */
    private static double groupSum(float[] x, float[] shift, int j, int cpg, int spatial, float[] acc, double[] stats, float[] lanes) {
        clear(acc, stats);
        int base = j * cpg * spatial;
        for (int c = 0; c < cpg; c++) {
            channelSum(x, base + c * spatial, spatial, acc, stats, lanes);
            stats[0] += (double) spatial * shift(shift, j, cpg, c);
        }
        flushSum(acc, stats, lanes);
        return stats[0];
    }

    /** Σ (x + shift − mean)² over job j's group. */
    private static double groupDeviations(float[] x, float[] shift, int j, int cpg, int spatial, double mean, float[] acc,
                                          double[] stats, float[] lanes) {
        clear(acc, stats);
        int base = j * cpg * spatial;
        for (int c = 0; c < cpg; c++) {
            channelDeviations(x, base + c * spatial, spatial, (float) (mean - shift(shift, j, cpg, c)), acc, stats, lanes);
        }
        flushDeviations(acc, stats, lanes);
        return stats[1];
    }

    /** Adds x[off, off+len) to the sum statistic (see STATS_FLUSH). */
    private static void channelSum(float[] x, int off, int len, float[] acc, double[] stats, float[] lanes) {
        FloatVector a = FloatVector.fromArray(SP, acc, 0);
        int filled = (int) stats[2];
        int i = 0, bound = SP.loopBound(len);
        while (i < bound) {
            int end = Math.min(bound, i + (STATS_FLUSH - filled) * L);
            filled += (end - i) / L;
            for (; i < end; i += L) a = a.add(FloatVector.fromArray(SP, x, off + i));
            if (filled == STATS_FLUSH) {
                stats[0] += VectorMath.sumLanes(a, lanes);
                a = FloatVector.zero(SP);
                filled = 0;
            }
        }
        a.intoArray(acc, 0);
        stats[2] = filled;
        for (; i < len; i++) stats[0] += x[off + i];
    }

    /** Adds (x[off, off+len) − mean)² to the deviations statistic (see STATS_FLUSH). */
    private static void channelDeviations(float[] x, int off, int len, float mean, float[] acc, double[] stats, float[] lanes) {
        FloatVector vm = FloatVector.broadcast(SP, mean);
        FloatVector q = FloatVector.fromArray(SP, acc, L);
        int filled = (int) stats[2];
        int i = 0, bound = SP.loopBound(len);
        while (i < bound) {
            int end = Math.min(bound, i + (STATS_FLUSH - filled) * L);
            filled += (end - i) / L;
            for (; i < end; i += L) {
                FloatVector d = FloatVector.fromArray(SP, x, off + i).sub(vm);
                q = d.fma(d, q);
            }
            if (filled == STATS_FLUSH) {
                stats[1] += VectorMath.sumLanes(q, lanes);
                q = FloatVector.zero(SP);
                filled = 0;
            }
        }
        q.intoArray(acc, L);
        stats[2] = filled;
        for (; i < len; i++) {
            double d = x[off + i] - mean;
            stats[1] += d * d;
        }
    }

    /**
     * y = x·sc + sh over [off, off+len), and in the same loop {@link #channelSum} at sumOff and
     * {@link #channelDeviations} at devOff (same order, same bits).
     */
    private static void affineAndStats(float[] x, float[] y, int off, int len, float sc, float sh, int sumOff,
                                       int devOff, float mean, float[] acc, double[] stats, float[] lanes) {
        FloatVector vs = FloatVector.broadcast(SP, sc), vh = FloatVector.broadcast(SP, sh), vm = FloatVector.broadcast(SP, mean);
        FloatVector a = FloatVector.fromArray(SP, acc, 0), q = FloatVector.fromArray(SP, acc, L);
        int filled = (int) stats[2];
        int i = 0, bound = SP.loopBound(len);
        while (i < bound) {
            int end = Math.min(bound, i + (STATS_FLUSH - filled) * L);
            filled += (end - i) / L;
            for (; i < end; i += L) {
                a = a.add(FloatVector.fromArray(SP, x, sumOff + i));
                FloatVector d = FloatVector.fromArray(SP, x, devOff + i).sub(vm);
                q = d.fma(d, q);
                FloatVector.fromArray(SP, x, off + i).fma(vs, vh).intoArray(y, off + i);
            }
            if (filled == STATS_FLUSH) {
                stats[0] += VectorMath.sumLanes(a, lanes);
                stats[1] += VectorMath.sumLanes(q, lanes);
                a = FloatVector.zero(SP);
                q = a;
                filled = 0;
            }
        }
        a.intoArray(acc, 0);
        q.intoArray(acc, L);
        stats[2] = filled;
        for (; i < len; i++) {
            stats[0] += x[sumOff + i];
            double d = x[devOff + i] - mean;
            stats[1] += d * d;
            y[off + i] = Math.fma(x[off + i], sc, sh);
        }
    }

    /**
     * As {@link #affineAndStats} with y = SiLU(x·sc + sh). The vector loops run to {@code loopBound}, so the JIT
     * sees counted loops: it unrolls them and drops the bounds checks. One call site of VectorMath.silu, so the JIT
     * inlines all of it (a second, masked copy for the tail, or a hand-unrolled second call, pushed the method past
     * the inlining budget and left the vectors boxed: 3–10× slower); the &lt; L tail elements in scalar double.
     */
    private static void affineSiluAndStats(float[] x, float[] y, int off, int len, float sc, float sh, int sumOff,
                                           int devOff, float mean, float[] acc, double[] stats, float[] lanes) {
        FloatVector vs = FloatVector.broadcast(SP, sc), vh = FloatVector.broadcast(SP, sh), vm = FloatVector.broadcast(SP, mean);
        FloatVector a = FloatVector.fromArray(SP, acc, 0), q = FloatVector.fromArray(SP, acc, L);
        int filled = (int) stats[2];
        int i = 0, bound = SP.loopBound(len);
        while (i < bound) {
            int end = Math.min(bound, i + (STATS_FLUSH - filled) * L);
            filled += (end - i) / L;
            for (; i < end; i += L) {
                a = a.add(FloatVector.fromArray(SP, x, sumOff + i));
                FloatVector d = FloatVector.fromArray(SP, x, devOff + i).sub(vm);
                q = d.fma(d, q);
                VectorMath.silu(FloatVector.fromArray(SP, x, off + i).fma(vs, vh)).intoArray(y, off + i);
            }
            if (filled == STATS_FLUSH) {
                stats[0] += VectorMath.sumLanes(a, lanes);
                stats[1] += VectorMath.sumLanes(q, lanes);
                a = FloatVector.zero(SP);
                q = a;
                filled = 0;
            }
        }
        a.intoArray(acc, 0);
        q.intoArray(acc, L);
        stats[2] = filled;
        for (; i < len; i++) {
            stats[0] += x[sumOff + i];
            double d = x[devOff + i] - mean;
            stats[1] += d * d;
            double v = Math.fma(x[off + i], sc, sh);
            y[off + i] = (float) (v / (1 + Math.exp(-v)));
        }
    }

    @Override
    public void layerNorm(float[] x, float[] y, float[] gamma, float[] beta, int rows, int dim, float eps) {
        Parallel.forRange(rows, (from, to) -> {
            float[] lanes = new float[L];
            for (int r = from; r < to; r++) {
                int o = r * dim;
                double meanD = sum(x, o, dim, lanes) / dim;
                float mean = (float) meanD;
                double var = squaredDeviations(x, o, dim, mean, lanes) / dim;
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                FloatVector vm = FloatVector.broadcast(SP, mean), vi = FloatVector.broadcast(SP, inv);
                int i = 0;
                for (; i + L <= dim; i += L) {
                    FloatVector v = FloatVector.fromArray(SP, x, o + i).sub(vm).mul(vi);
                    v.fma(FloatVector.fromArray(SP, gamma, i), FloatVector.fromArray(SP, beta, i)).intoArray(y, o + i);
                }
                for (; i < dim; i++) y[o + i] = Math.fma((x[o + i] - mean) * inv, gamma[i], beta[i]);
            }
        });
    }

    /** Σ x[off, off+len) . */
    static double sum(float[] x, int off, int len, float[] lanes) {
        double total = 0;
        for (int start = 0; start < len; start += BLOCK) {
            int end = Math.min(len, start + BLOCK);
            FloatVector a0 = FloatVector.zero(SP), a1 = a0, a2 = a0, a3 = a0;
            int i = start;
            for (; i + 4 * L <= end; i += 4 * L) {
                a0 = a0.add(FloatVector.fromArray(SP, x, off + i));
                a1 = a1.add(FloatVector.fromArray(SP, x, off + i + L));
                a2 = a2.add(FloatVector.fromArray(SP, x, off + i + 2 * L));
                a3 = a3.add(FloatVector.fromArray(SP, x, off + i + 3 * L));
            }
            for (; i + L <= end; i += L) a0 = a0.add(FloatVector.fromArray(SP, x, off + i));
            double s = VectorMath.sumLanes(a0.add(a1).add(a2.add(a3)), lanes);
            for (; i < end; i++) s += x[off + i];
            total += s;
        }
        return total;
    }

    /** Σ (x − mean)² over x[off, off+len). */
    static double squaredDeviations(float[] x, int off, int len, float mean, float[] lanes) {
        FloatVector vm = FloatVector.broadcast(SP, mean);
        double total = 0;
        for (int start = 0; start < len; start += BLOCK) {
            int end = Math.min(len, start + BLOCK);
            FloatVector a0 = FloatVector.zero(SP), a1 = a0, a2 = a0, a3 = a0;
            int i = start;
            for (; i + 4 * L <= end; i += 4 * L) {
                FloatVector d0 = FloatVector.fromArray(SP, x, off + i).sub(vm);
                FloatVector d1 = FloatVector.fromArray(SP, x, off + i + L).sub(vm);
                FloatVector d2 = FloatVector.fromArray(SP, x, off + i + 2 * L).sub(vm);
                FloatVector d3 = FloatVector.fromArray(SP, x, off + i + 3 * L).sub(vm);
                a0 = d0.fma(d0, a0);
                a1 = d1.fma(d1, a1);
                a2 = d2.fma(d2, a2);
                a3 = d3.fma(d3, a3);
            }
            for (; i + L <= end; i += L) {
                FloatVector d0 = FloatVector.fromArray(SP, x, off + i).sub(vm);
                a0 = d0.fma(d0, a0);
            }
            double s = VectorMath.sumLanes(a0.add(a1).add(a2.add(a3)), lanes);
            for (; i < end; i++) {
                double d = x[off + i] - mean;
                s += d * d;
            }
            total += s;
        }
        return total;
    }
}
