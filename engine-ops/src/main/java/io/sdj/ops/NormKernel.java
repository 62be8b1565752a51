package io.sdj.ops;

import io.sdj.core.Parallel;
import java.lang.invoke.MethodHandles;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels of {@link GroupNorm} and {@link LayerNorm}: two-pass mean and variance (no E[x²]−E[x]² cancellation),
 * each pass summing blocks of {@link #BLOCK} floats in four float vector accumulators and adding the block sums in
 * double, so the relative error of a sum stays a few ulp whatever its length. Each group / row is reduced by one
 * task in a fixed order (no {@code reduceLanes(ADD)}, whose order may vary): bit-identical for any thread count.
 */
final class NormKernel implements GroupNorm.Kernel, LayerNorm.Kernel {
    static final VectorSpecies<Float> SP = SpeciesVariants.species(MethodHandles.lookup());
    private static final int L = SP.length();
    private static final int BLOCK = 1024;

    NormKernel() {}

    @Override
    public void groupNorm(float[] x, float[] y, float[] gamma, float[] beta, int n, int channels, int groups,
                          int spatial, float eps, boolean silu) {
        int cpg = channels / groups;
        Parallel.forEach(n * groups, job -> {
            float[] lanes = new float[L];
            int b = job / groups, g = job % groups;
            int base = (b * channels + g * cpg) * spatial, len = cpg * spatial;
            double mean = sum(x, base, len, lanes) / len;
            double var = squaredDeviations(x, base, len, (float) mean, lanes) / len;
            float inv = (float) (1.0 / Math.sqrt(var + eps));
            for (int c = 0; c < cpg; c++) {
                int ch = g * cpg + c;
                float sc = gamma[ch] * inv, sh = (float) (beta[ch] - mean * sc);
                affine(x, y, base + c * spatial, spatial, sc, sh, silu);
            }
        });
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

    /** y = x·sc + sh, then SiLU if asked, over [off, off+len). */
    private static void affine(float[] x, float[] y, int off, int len, float sc, float sh, boolean silu) {
        FloatVector vs = FloatVector.broadcast(SP, sc), vh = FloatVector.broadcast(SP, sh);
        int i = 0;
        if (silu) {
            // one call site of VectorMath.silu, so the JIT inlines all of it (a second, masked copy for the tail
            // pushed the method past the inlining budget and left the vectors boxed: 3–10× slower); the < L tail
            // elements in scalar double
            for (; i + L <= len; i += L) {
                VectorMath.silu(FloatVector.fromArray(SP, x, off + i).fma(vs, vh)).intoArray(y, off + i);
            }
            for (; i < len; i++) {
                double v = Math.fma(x[off + i], sc, sh);
                y[off + i] = (float) (v / (1 + Math.exp(-v)));
            }
        } else {
            for (; i + L <= len; i += L) FloatVector.fromArray(SP, x, off + i).fma(vs, vh).intoArray(y, off + i);
            for (; i < len; i++) y[off + i] = Math.fma(x[off + i], sc, sh);
        }
    }
}
