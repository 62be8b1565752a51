package io.sdj.ops;

import io.sdj.core.Parallel;
import java.lang.invoke.MethodHandles;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels of {@link Activations}: one compact loop per activation (so the JIT inlines the whole
 * {@link VectorMath} function into it), masked tails, work split into fixed blocks of {@link #BLOCK} elements.
 */
final class ActivationKernel implements Activations.Kernel {
    static final VectorSpecies<Float> SP = SpeciesVariants.species(MethodHandles.lookup());
    private static final int L = SP.length();
    private static final int BLOCK = 8192;

    ActivationKernel() {}

    @Override
    public void apply(float[] src, float[] dst, int n, Activation act) {
        if (act == Activation.NONE) {
            if (src != dst) System.arraycopy(src, 0, dst, 0, n);
            return;
        }
        Parallel.forRange((n + BLOCK - 1) / BLOCK, (from, to) -> {
            int start = from * BLOCK, end = Math.min(n, to * BLOCK);
            switch (act) {
                case SILU -> silu(src, dst, start, end);
                case GELU -> gelu(src, dst, start, end);
                case GELU_TANH -> geluTanh(src, dst, start, end);
                case QUICK_GELU -> quickGelu(src, dst, start, end);
                case RELU -> relu(src, dst, start, end);
                case NONE -> { }
            }
        });
    }

    private static void silu(float[] s, float[] d, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) VectorMath.silu(FloatVector.fromArray(SP, s, i)).intoArray(d, i);
        if (i < to) {
            VectorMask<Float> m = SP.indexInRange(i, to);
            VectorMath.silu(FloatVector.fromArray(SP, s, i, m)).intoArray(d, i, m);
        }
    }

    private static void gelu(float[] s, float[] d, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) VectorMath.gelu(FloatVector.fromArray(SP, s, i)).intoArray(d, i);
        if (i < to) {
            VectorMask<Float> m = SP.indexInRange(i, to);
            VectorMath.gelu(FloatVector.fromArray(SP, s, i, m)).intoArray(d, i, m);
        }
    }

    private static void geluTanh(float[] s, float[] d, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) VectorMath.geluTanh(FloatVector.fromArray(SP, s, i)).intoArray(d, i);
        if (i < to) {
            VectorMask<Float> m = SP.indexInRange(i, to);
            VectorMath.geluTanh(FloatVector.fromArray(SP, s, i, m)).intoArray(d, i, m);
        }
    }

    private static void quickGelu(float[] s, float[] d, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) VectorMath.quickGelu(FloatVector.fromArray(SP, s, i)).intoArray(d, i);
        if (i < to) {
            VectorMask<Float> m = SP.indexInRange(i, to);
            VectorMath.quickGelu(FloatVector.fromArray(SP, s, i, m)).intoArray(d, i, m);
        }
    }

    private static void relu(float[] s, float[] d, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) FloatVector.fromArray(SP, s, i).max(0f).intoArray(d, i);
        for (; i < to; i++) d[i] = s[i] > 0 ? s[i] : 0f;
    }

    @Override
    public void geglu(float[] x, float[] y, int rows, int d) {
        Parallel.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) gegluRow(x, r * 2 * d, y, r * d, d);
        });
    }

    private static void gegluRow(float[] x, int xo, float[] y, int yo, int d) {
        int i = 0;
        for (; i + L <= d; i += L) {
            FloatVector g = VectorMath.gelu(FloatVector.fromArray(SP, x, xo + d + i));
            FloatVector.fromArray(SP, x, xo + i).mul(g).intoArray(y, yo + i);
        }
        if (i < d) {
            VectorMask<Float> m = SP.indexInRange(i, d);
            FloatVector g = VectorMath.gelu(FloatVector.fromArray(SP, x, xo + d + i, m));
            FloatVector.fromArray(SP, x, xo + i, m).mul(g).intoArray(y, yo + i, m);
        }
    }
}
