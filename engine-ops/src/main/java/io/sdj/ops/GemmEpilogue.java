package io.sdj.ops;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static io.sdj.ops.GemmKernel.S;

/**
 * What a GEMM does to a finished output value, in this order: {@code act(v + bias) + residual}.
 * Bias is per output column ({@code colBias}, token-major {@link Linear}) or per output row ({@code rowBias}, NCHW
 * {@link Conv2d}); either may be null. The residual has the output's layout (same offsets) or is null.
 * <p>With a {@link Gate} (a gated linear unit, {@link GatedLinear}) the GEMM's columns come in panels of
 * {@code 2·L}: lanes 0..L−1 of panel p are value columns p·L…, lanes L..2L−1 the matching gate columns. The epilogue
 * then writes {@code (value + bias) · act(gate + bias)} (act SiLU or GELU, as {@link VectorMath}) for the tile's L value columns to the gate's output (row-major,
 * {@code width} columns) while the tile is still in L1: the 2·inner projection is never read back in a second pass.
 */
record GemmEpilogue(float[] colBias, float[] rowBias, Activation act, float[] residual, Gate gate) {
    GemmEpilogue {
        if (act == null) act = Activation.NONE;
    }

    /** Output of a gated epilogue: {@code out[row·width + col/2 + t]}, t &lt; L, for the value columns that exist. */
    record Gate(float[] out, int width) {}

    /** Null when there is nothing to do, so the kernels skip the epilogue entirely. */
    static GemmEpilogue of(float[] colBias, float[] rowBias, Activation act, float[] residual) {
        if (colBias == null && rowBias == null && residual == null && (act == null || act == Activation.NONE)) return null;
        return new GemmEpilogue(colBias, rowBias, act, residual, null);
    }

    /** A gated epilogue: bias per (interleaved) column, then value · act(gate) into {@code gate.out}. */
    static GemmEpilogue gated(float[] colBias, Activation act, Gate gate) {
        return new GemmEpilogue(colBias, null, act, null, gate);
    }

    /**
     * Applies a gated epilogue to a finished {@code mr × nr} tile of C at {@code c[cOff + r·ldc + j]} (a thread's tile
     * buffer), whose first element is output (row, col); the only epilogue applied in place, every other one goes
     * through {@link #storeTile}. Loads, transforms and stores within this method, so no vector crosses a call
     * boundary that the JIT might not inline (which would box it).
     */
    void applyTile(float[] c, int cOff, int ldc, int mr, int nr, int row, int col) {
        if (gate == null) throw new IllegalStateException("only a gated epilogue is applied in place (storeTile)");
        gateTile(c, cOff, ldc, mr, row, col);
    }

    /**
     * Moves a tile's last sums from {@code t[tOff + r·ldt + j]} (a kernel's L1 buffer) into C with the epilogue
     * applied on the way: C = epilogue(t) when {@code first}, else epilogue(t + C), C written once. Not for a gated
     * epilogue. The same operations in the same order as {@link GemmKernel#storeTile} followed by the epilogue applied
     * to C in place (as it once was), so the results are the same bits; but the tile is not read back from C right
     * after being stored there, where each load waited for its line (just written, not yet in cache) to come from
     * memory.
     */
    void storeTile(float[] t, int tOff, int ldt, boolean first, float[] c, int cOff, int ldc, int mr, int nr, int row, int col) {
        if (gate != null) throw new IllegalStateException("a gated epilogue is applied in place (applyTile)");
        finishTile(t, tOff, ldt, first, c, cOff, ldc, mr, nr, row, col);
    }

    /** C = epilogue(t) ({@code first}) or epilogue(t + C). */
    private void finishTile(float[] t, int tOff, int ldt, boolean first, float[] c, int cOff, int ldc, int mr, int nr, int row, int col) {
        int full = nr - nr % GemmKernel.L;
        if (act == Activation.NONE || act == Activation.RELU) {
            plainTile(t, tOff, ldt, first, c, cOff, ldc, mr, nr, row, col, full);
            return;
        }
        for (int r = 0; r < mr; r++) {
            int off = cOff + r * ldc, src = tOff + r * ldt;
            for (int j = 0; j < full; j += GemmKernel.L) {
                FloatVector v = FloatVector.fromArray(S, t, src + j);
                if (!first) v = v.add(FloatVector.fromArray(S, c, off + j));
                apply(v, row + r, col + j, c, off + j, null).intoArray(c, off + j);
            }
            if (full < nr) {
                VectorMask<Float> m = S.indexInRange(full, nr);
                FloatVector v = FloatVector.fromArray(S, t, src + full, m);
                if (!first) v = v.add(FloatVector.fromArray(S, c, off + full, m));
                apply(v, row + r, col + full, c, off + full, m).intoArray(c, off + full, m);
            }
        }
    }

    /**
     * The gated epilogue of a tile whose first column {@code col} starts a 2·L panel (value lanes, then gate lanes).
     * Biases are added in place first; SiLU then runs as one loop, GELU as the near pass (written to the output) and
     * the far pass only where a lane needs it, each a compact loop over the tile's rows so the JIT inlines the whole
     * {@link VectorMath} function (a vector passed across a call it does not inline gets boxed: 4× slower).
     */
    private void gateTile(float[] c, int cOff, int ldc, int mr, int row, int col) {
        int o0 = col / 2, valid = Math.min(GemmKernel.L, gate.width - o0);
        if (valid <= 0) return;
        if (colBias != null) addBias(c, cOff, ldc, mr, colBias, col);
        int oOff = row * gate.width + o0;
        if (act == Activation.SILU) gateSilu(c, cOff, ldc, mr, gate.out, oOff, gate.width, valid);
        else if (act == Activation.GELU) geluGate(c, cOff, ldc, mr, gate.out, oOff, gate.width, valid);
        else {
            throw new IllegalStateException("gated epilogue: unsupported gate activation " + act);
        }
    }

    private static void addBias(float[] c, int cOff, int ldc, int mr, float[] bias, int col) {
        int L = GemmKernel.L;
        FloatVector bv = FloatVector.fromArray(S, bias, col), bg = FloatVector.fromArray(S, bias, col + L);
        for (int r = 0; r < mr; r++) {
            int off = cOff + r * ldc;
            FloatVector.fromArray(S, c, off).add(bv).intoArray(c, off);
            FloatVector.fromArray(S, c, off + L).add(bg).intoArray(c, off + L);
        }
    }

    private static void gateSilu(float[] c, int cOff, int ldc, int mr, float[] out, int oOff, int ldo, int valid) {
        int L = GemmKernel.L;
        VectorMask<Float> m = S.indexInRange(0, valid);
        for (int r = 0; r < mr; r++) {
            int off = cOff + r * ldc;
            FloatVector y = FloatVector.fromArray(S, c, off).mul(VectorMath.silu(FloatVector.fromArray(S, c, off + L)));
            y.intoArray(out, oOff + r * ldo, m);
        }
    }

    /**
     * value · GELU(gate) for the tile's rows: the near-zero form of GELU(gate) and the far form's first half
     * ({@link VectorMath#geluFarErfcx}, erfcx of the gate) for every lane into this thread's {@link #NEAR} buffer, then
     * ({@link #geluFarGate}) the far form's second half (the exponential) where a lane needs it, the product with the
     * value and the one store to the output. Arrays in, arrays out, no vector crossing a call.
     * <p>The near form once went to the output and the far pass read it back from there: each such load waited for the
     * output line, just written and not yet in cache, to arrive from memory (12% of a one-thread GEGLU projection at
     * 4096 × 320 → 2560 sat on that load, perf, 2026-12-06); an L1-resident buffer has no such wait.
     * <p>The far form (a 12-term polynomial, a division and an exponential) fits C2's node budget only in a
     * compilation of its own. Inlined into this method, or beside the SiLU gate in {@link #gateTile}, C2 ran out of
     * budget and left its helpers as calls with boxed vectors; moving it into a method of its own did not help (C2
     * inlined it back) nor did putting it first. So it is called through {@link #GELU_FAR_GATE}, a method handle C2
     * does not inline across. In {@code sdj profile --arch bk-sdm-tiny} (2026-12-06, AVX-512 host, 2 threads) the GEGLU
     * projection went from 49 / 40 / 38 ms per call at 64² / 32² / 16² to 39–40 / 35 / 34 ms (33–35 ms with a SiLU
     * gate in its place, for comparison), the feed-forward from 525 / 514 to 467 / 474 ms per forward.
     * <p>Its first half (erfcx: the division and the polynomial) is computed here, beside the near form, and only the
     * exponential behind the handle: with the polynomial in two halves (even and odd powers, for a shorter dependency
     * chain) the whole far form no longer fitted {@link #geluFarGate}'s budget either ({@code NodeCountInliningCutoff},
     * the exponential left a call with boxed vectors, 1.5× slower), and each loop's dependency chain is now half as
     * long.
     */
    private static void geluGate(float[] c, int cOff, int ldc, int mr, float[] out, int oOff, int ldo, int valid) {
        int L = GemmKernel.L;
        float[] near = NEAR.atLeast(2 * mr * L);
        for (int r = 0; r < mr; r++) {
            FloatVector g = FloatVector.fromArray(S, c, cOff + r * ldc + L);
            VectorMath.geluNear(g).intoArray(near, r * L);
            VectorMath.geluFarErfcx(g).intoArray(near, (mr + r) * L);
        }
        try {
            GELU_FAR_GATE.invokeExact(c, cOff, ldc, mr, near, out, oOff, ldo, valid);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {   // geluFarGate declares no checked exception
            throw new IllegalStateException(t);
        }
    }

    /** Per-thread GELU values of the near form, then the far form's erfcx, one tile's rows each (L floats a row). */
    private static final ThreadScratch NEAR = new ThreadScratch();

    /**
     * {@link #geluFarGate}, as a compile boundary: deliberately not final. C2 inlines through a constant method handle
     * (a static final one) like a direct call; through a field it cannot trust not to change it calls the target, which
     * it compiles on its own, with its own inlining budget.
     */
    @SuppressWarnings("FieldMayBeFinal")
    private static MethodHandle GELU_FAR_GATE = farGateHandle();

    private static MethodHandle farGateHandle() {
        try {
            return MethodHandles.lookup().findStatic(GemmEpilogue.class, "geluFarGate", MethodType.methodType(void.class,
                    float[].class, int.class, int.class, int.class, float[].class, float[].class, int.class, int.class, int.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * out = value · GELU(gate) for the tile's rows: the far form where a gate's magnitude is at least √2, elsewhere the
     * near form from {@code near}. The far form is computed for every row, not only where some lane needs it: behind
     * that test C2 once judged the call cold and left it out of line, with boxed vectors (a one-thread probe).
     */
    private static void geluFarGate(float[] c, int cOff, int ldc, int mr, float[] near, float[] out, int oOff, int ldo, int valid) {
        int L = GemmKernel.L;
        VectorMask<Float> m = S.indexInRange(0, valid);
        for (int r = 0; r < mr; r++) {
            int off = cOff + r * ldc;
            FloatVector g = FloatVector.fromArray(S, c, off + L);
            FloatVector y = FloatVector.fromArray(S, near, r * L);
            VectorMask<Float> far = g.abs().lt(1.41421356f).not();
            y = y.blend(VectorMath.geluFar(g, FloatVector.fromArray(S, near, (mr + r) * L)), far);
            y.mul(FloatVector.fromArray(S, c, off)).intoArray(out, oOff + r * ldo, m);
        }
    }

    /**
     * {@link #applyTile} for no activation or ReLU, the same operations in the same order as {@link #apply}, written
     * out: through {@link #activate}'s whole switch the JIT sometimes left these vectors boxed (seen in the Winograd
     * convolution's epilogue, whose forks of one benchmark ran 25% apart).
     */
    private void plainTile(float[] t, int tOff, int ldt, boolean first, float[] c, int cOff, int ldc, int mr, int nr, int row, int col, int full) {
        boolean relu = act == Activation.RELU;
        for (int r = 0; r < mr; r++) {
            int off = cOff + r * ldc, src = tOff + r * ldt;
            float rb = rowBias == null ? 0f : rowBias[row + r];
            for (int j = 0; j < full; j += GemmKernel.L) {
                FloatVector v = FloatVector.fromArray(S, t, src + j);
                if (!first) v = v.add(FloatVector.fromArray(S, c, off + j));
                if (colBias != null) v = v.add(FloatVector.fromArray(S, colBias, col + j));
                if (rowBias != null) v = v.add(rb);
                if (relu) v = v.max(0f);
                if (residual != null) v = v.add(FloatVector.fromArray(S, residual, off + j));
                v.intoArray(c, off + j);
            }
            if (full < nr) {
                VectorMask<Float> m = S.indexInRange(full, nr);
                FloatVector v = FloatVector.fromArray(S, t, src + full, m);
                if (!first) v = v.add(FloatVector.fromArray(S, c, off + full, m));
                if (colBias != null) v = v.add(FloatVector.fromArray(S, colBias, col + full, m));
                if (rowBias != null) v = v.add(rb);
                if (relu) v = v.max(0f);
                if (residual != null) v = v.add(FloatVector.fromArray(S, residual, off + full, m));
                v.intoArray(c, off + full, m);
            }
        }
    }

    /** The epilogue for one vector of row {@code row}, columns from {@code col}, stored at output offset {@code off}. */
    FloatVector apply(FloatVector v, int row, int col, float[] c, int off, VectorMask<Float> m) {
        if (colBias != null) v = v.add(m == null ? FloatVector.fromArray(S, colBias, col) : FloatVector.fromArray(S, colBias, col, m));
        if (rowBias != null) v = v.add(rowBias[row]);
        v = activate(act, v);
        if (residual != null) v = v.add(m == null ? FloatVector.fromArray(S, residual, off) : FloatVector.fromArray(S, residual, off, m));
        return v;
    }

    /**
     * The activation on every lane (float32 approximations of {@link Activation#apply}, within a few ulp).
     * Built from add/mul/fma/div only, never the Vector API's EXP/TANH: those give different last bits interpreted
     * and JIT-compiled, which would make results depend on warm-up.
     */
    static FloatVector activate(Activation act, FloatVector x) {
        return switch (act) {
            case NONE -> x;
            case RELU -> x.max(0f);
            case SILU -> x.div(exp(x.neg()).add(1f));
            case QUICK_GELU -> x.div(exp(x.mul(-1.702f)).add(1f));
            case GELU -> x.mul(0.5f).mul(erf(x.mul((float) (1 / Math.sqrt(2)))).add(1f));
            case GELU_TANH -> {
                FloatVector inner = x.mul(x).mul(0.044715f).add(1f).mul(x).mul((float) Math.sqrt(2 / Math.PI));
                // 1 + tanh(u) = 2 − 2/(e^{2u} + 1)
                FloatVector onePlusTanh = FloatVector.broadcast(S, 2f).sub(FloatVector.broadcast(S, 2f).div(exp(inner.mul(2f)).add(1f)));
                yield x.mul(0.5f).mul(onePlusTanh);
            }
        };
    }

    /**
     * erf(x) from the Chebyshev fit of erfc (Numerical Recipes {@code erfcc}), fractional error below 1.2e-7:
     * erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2), z = |x|.
     */
    static FloatVector erf(FloatVector x) {
        FloatVector z = x.abs();
        FloatVector t = z.mul(0.5f).add(1f);
        t = FloatVector.broadcast(S, 1f).div(t);
        FloatVector p = t.mul(0.17087277f).add(-0.82215223f);
        p = p.mul(t).add(1.48851587f);
        p = p.mul(t).add(-1.13520398f);
        p = p.mul(t).add(0.27886807f);
        p = p.mul(t).add(-0.18628806f);
        p = p.mul(t).add(0.09678418f);
        p = p.mul(t).add(0.37409196f);
        p = p.mul(t).add(1.00002368f);
        p = p.mul(t).add(-1.26551223f);
        FloatVector erfc = t.mul(exp(p.sub(z.mul(z))));
        FloatVector r = FloatVector.broadcast(S, 1f).sub(erfc);
        return r.blend(r.neg(), x.lt(0f));
    }

    /**
     * e^x for float lanes, about 1 ulp: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), e^r from a
     * degree-6 polynomial (Cephes expf coefficients), 2^n put into the exponent bits. x is clamped to [−87.3, 88.7]
     * so the result stays a normal finite float.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.33f).min(88.72f);
        // round x·log2(e) to the nearest integer with the 1.5·2²³ trick
        FloatVector t = x.fma(FloatVector.broadcast(S, 1.44269504088896341f), FloatVector.broadcast(S, 12582912f));
        FloatVector n = t.sub(12582912f);
        FloatVector r = n.fma(FloatVector.broadcast(S, -0.693359375f), x);
        r = n.fma(FloatVector.broadcast(S, 2.12194440e-4f), r);
        FloatVector p = r.fma(FloatVector.broadcast(S, 1.9875691500e-4f), FloatVector.broadcast(S, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector er = p.fma(r.mul(r), r).add(1f);
        // 2^n: n + 127 in the exponent field (n in [−126, 128]; 128 only at the clamp, handled by splitting)
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return er.mul(s1).mul(s2);
    }
}
