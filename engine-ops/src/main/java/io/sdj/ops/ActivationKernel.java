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
        for (int i = from; i < to; i += L) {
            VectorMask<Float> m = SP.indexInRange(i, to);
            VectorMath.silu(FloatVector.fromArray(SP, s, i, m)).intoArray(d, i, m);
        }
    }

    private static void gelu(float[] s, float[] d, int from, int to) {
        float[] near = new float[CHUNK]; // not d itself: d may be s (in place) and the second pass needs x
        for (int c = from; c < to; c += CHUNK) {
            int n = Math.min(CHUNK, to - c);
            geluNear(s, c, near, 0, n);
            geluFar(s, c, near, 0, d, c, n, null, 0);
        }
    }

    private static final int CHUNK = 1024;

    /** d[do, do+n) = GELU-near(s[so, so+n)): exact where |x| < √2. */
    private static void geluNear(float[] s, int so, float[] d, int dOff, int n) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = SP.indexInRange(i, n);
            VectorMath.geluNear(FloatVector.fromArray(SP, s, so + i, m)).intoArray(d, dOff + i, m);
        }
    }

    /**
     * d = GELU(x) from the near values where |x| &lt; √2 and erfc where |x| ≥ √2 (skipped for vectors with no such
     * lane), times h[ho..] if given.
     * A separate pass from {@link #geluNear} so each loop stays within the JIT's inlining budget (see VectorMath).
     */
    private static void geluFar(float[] s, int so, float[] near, int no, float[] d, int dOff, int n, float[] h, int ho) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = SP.indexInRange(i, n);
            FloatVector x = FloatVector.fromArray(SP, s, so + i, m);
            FloatVector y = FloatVector.fromArray(SP, near, no + i, m);
            VectorMask<Float> far = x.abs().lt(SQRT2).not().and(m);
            if (far.anyTrue()) y = y.blend(VectorMath.geluFar(x), far);
            if (h != null) y = y.mul(FloatVector.fromArray(SP, h, ho + i, m));
            y.intoArray(d, dOff + i, m);
        }
    }

    private static final float SQRT2 = 1.41421356f;

    private static void geluTanh(float[] s, float[] d, int from, int to) {
        for (int i = from; i < to; i += L) {
            VectorMask<Float> m = SP.indexInRange(i, to);
            VectorMath.geluTanh(FloatVector.fromArray(SP, s, i, m)).intoArray(d, i, m);
        }
    }

    private static void quickGelu(float[] s, float[] d, int from, int to) {
        for (int i = from; i < to; i += L) {
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

    @Override
    public void swiglu(float[] x, float[] y, int rows, int d) {
        Parallel.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                int xo = r * 2 * d, yo = r * d;
                for (int i = 0; i < d; i += L) {
                    VectorMask<Float> m = SP.indexInRange(i, d);
                    FloatVector g = VectorMath.silu(FloatVector.fromArray(SP, x, xo + d + i, m));
                    g.mul(FloatVector.fromArray(SP, x, xo + i, m)).intoArray(y, yo + i, m);
                }
            }
        });
    }

    private static void gegluRow(float[] x, int xo, float[] y, int yo, int d) {
        geluNear(x, xo + d, y, yo, d);
        geluFar(x, xo + d, y, yo, y, yo, d, x, xo);
    }
}
