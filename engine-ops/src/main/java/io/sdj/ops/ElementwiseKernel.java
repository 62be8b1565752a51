package io.sdj.ops;

import io.sdj.core.Parallel;
import java.lang.invoke.MethodHandles;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels of {@link Elementwise}. Streaming ops run over fixed blocks of {@link #BLOCK} elements; transposes are
 * blocked {@link #TILE}×{@link #TILE}; softmax rows are reduced by one task each in a fixed order.
 */
final class ElementwiseKernel implements Elementwise.Kernel {
    static final VectorSpecies<Float> SP = SpeciesVariants.species(MethodHandles.lookup());
    private static final int L = SP.length();
    private static final int BLOCK = 16384;
    private static final int TILE = 32;

    ElementwiseKernel() {}

    private static int blocks(int n) { return (n + BLOCK - 1) / BLOCK; }

    @Override
    public void add(float[] a, float[] b, float[] y, int n) {
        Parallel.forRange(blocks(n), (from, to) -> {
            int i = from * BLOCK, end = Math.min(n, to * BLOCK);
            for (; i + L <= end; i += L) FloatVector.fromArray(SP, a, i).add(FloatVector.fromArray(SP, b, i)).intoArray(y, i);
            for (; i < end; i++) y[i] = a[i] + b[i];
        });
    }

    @Override
    public void mul(float[] a, float[] b, float[] y, int n) {
        Parallel.forRange(blocks(n), (from, to) -> {
            int i = from * BLOCK, end = Math.min(n, to * BLOCK);
            for (; i + L <= end; i += L) FloatVector.fromArray(SP, a, i).mul(FloatVector.fromArray(SP, b, i)).intoArray(y, i);
            for (; i < end; i++) y[i] = a[i] * b[i];
        });
    }

    @Override
    public void scale(float[] a, float s, int n) {
        Parallel.forRange(blocks(n), (from, to) -> {
            int i = from * BLOCK, end = Math.min(n, to * BLOCK);
            for (; i + L <= end; i += L) FloatVector.fromArray(SP, a, i).mul(s).intoArray(a, i);
            for (; i < end; i++) a[i] *= s;
        });
    }

    @Override
    public void channelBias(float[] x, float[] bias, int planes, int hw) {
        Parallel.forRange(planes, (from, to) -> {
            for (int p = from; p < to; p++) {
                float v = bias[p];
                int i = p * hw, end = i + hw;
                for (; i + L <= end; i += L) FloatVector.fromArray(SP, x, i).add(v).intoArray(x, i);
                for (; i < end; i++) x[i] += v;
            }
        });
    }

    @Override
    public void softmaxRows(float[] x, int rows, int d) {
        Parallel.forRange(rows, (from, to) -> {
            float[] lanes = new float[L];
            for (int r = from; r < to; r++) {
                int o = r * d, i = 0;
                FloatVector vmax = FloatVector.broadcast(SP, Float.NEGATIVE_INFINITY);
                for (; i + L <= d; i += L) vmax = vmax.max(FloatVector.fromArray(SP, x, o + i));
                float max = vmax.reduceLanes(VectorOperators.MAX); // exact in any order
                for (; i < d; i++) max = Math.max(max, x[o + i]);
                FloatVector vsum = FloatVector.zero(SP);
                i = 0;
                for (; i + L <= d; i += L) {
                    FloatVector e = VectorMath.exp(FloatVector.fromArray(SP, x, o + i).sub(max));
                    e.intoArray(x, o + i);
                    vsum = vsum.add(e);
                }
                if (i < d) {
                    VectorMask<Float> m = SP.indexInRange(i, d);
                    FloatVector e = VectorMath.exp(FloatVector.fromArray(SP, x, o + i, m).sub(max));
                    e.intoArray(x, o + i, m);
                    vsum = vsum.add(e, m);
                }
                float sum = VectorMath.sumLanes(vsum, lanes);
                i = 0;
                for (; i + L <= d; i += L) FloatVector.fromArray(SP, x, o + i).div(sum).intoArray(x, o + i);
                for (; i < d; i++) x[o + i] /= sum;
            }
        });
    }

    @Override
    public void transpose(float[] src, float[] add, float[] dst, int batch, int rows, int cols) {
        // src [batch][rows][cols] → dst [batch][cols][rows], TILE×TILE blocks, split over (batch, row block)
        int rowBlocks = (rows + TILE - 1) / TILE;
        Parallel.forRange(batch * rowBlocks, (from, to) -> {
            for (int job = from; job < to; job++) {
                int b = job / rowBlocks, r0 = (job % rowBlocks) * TILE, r1 = Math.min(rows, r0 + TILE);
                int s = b * rows * cols;
                for (int c0 = 0; c0 < cols; c0 += TILE) {
                    int c1 = Math.min(cols, c0 + TILE);
                    for (int c = c0; c < c1; c++) {
                        int t = s + c * rows;
                        if (add == null) {
                            for (int r = r0; r < r1; r++) dst[t + r] = src[s + r * cols + c];
                        } else {
                            for (int r = r0; r < r1; r++) dst[t + r] = src[s + r * cols + c] + add[t + r];
                        }
                    }
                }
            }
        });
    }

    @Override
    public void upsampleNearest(float[] x, float[] y, int planes, int h, int w, int outH, int outW) {
        int[] ix = new int[outW];
        boolean twice = outW == 2 * w;
        float sx = (float) w / outW, sy = (float) h / outH;
        for (int o = 0; o < outW; o++) ix[o] = twice ? o >> 1 : Math.min(w - 1, (int) (o * sx));
        boolean twiceH = outH == 2 * h;
        Parallel.forRange(planes, (from, to) -> {
            for (int p = from; p < to; p++) {
                int prev = -1;
                for (int oy = 0; oy < outH; oy++) {
                    int iy = twiceH ? oy >> 1 : Math.min(h - 1, (int) (oy * sy));
                    int dst = (p * outH + oy) * outW;
                    if (iy == prev) {
                        System.arraycopy(y, dst - outW, y, dst, outW);
                        continue;
                    }
                    prev = iy;
                    int src = (p * h + iy) * w;
                    if (twice) {
                        for (int i = 0; i < w; i++) {
                            float v = x[src + i];
                            y[dst + 2 * i] = v;
                            y[dst + 2 * i + 1] = v;
                        }
                    } else {
                        for (int o = 0; o < outW; o++) y[dst + o] = x[src + ix[o]];
                    }
                }
            }
        });
    }
}
