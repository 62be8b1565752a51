package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

import static io.sdj.ops.GemmKernel.L;
import static io.sdj.ops.GemmKernel.S;

/**
 * Depthwise 2-D convolution over NCHW (PyTorch {@code nn.Conv2d} with groups = channels): each channel convolved with
 * its own k×k filter (weight [C, 1, k, k]), zero padding, bias and residual fused.
 * <p>Memory-bound: one pass over the input and one over the output. The 3×3, padding 1 case (stride 1, or 2 on an even
 * width) reads each channel plane in place, a vector of output pixels at a time, the taps at the plane's edges made by
 * shifting lanes; at stride 1, planes up to 32 KB are walked a column of vectors at a time so that each input row is
 * loaded once for the three output rows it feeds. Other kernels, and planes narrower than a vector, copy the plane
 * into a zero-bordered buffer first.
 * Work is split over planes, each computed the same way on any thread.
 */
public final class DepthwiseConv2d {
    private final String name;
    private final int channels, k, stride, padding;
    private final float[] w;     // [C, k, k], widened
    private final float[] bias;  // [C] or null

    public DepthwiseConv2d(WeightTensor weight, WeightTensor bias, int stride, int padding) {
        if (weight.shape().length != 4 || weight.dim(1) != 1 || weight.dim(2) != weight.dim(3) || weight.dim(0) < 1) {
            throw new IllegalArgumentException("depthwise conv weight '" + weight.name() + "' must be [C, 1, k, k], got " + weight);
        }
        if (stride < 1 || padding < 0) throw new IllegalArgumentException("depthwise conv '" + weight.name() + "': bad stride " + stride + " / padding " + padding);
        this.name = weight.name();
        this.channels = weight.dim(0);
        this.k = weight.dim(2);
        this.stride = stride;
        this.padding = padding;
        this.w = weight.toFloats();
        if (bias != null) bias.requireShape(channels);
        this.bias = bias == null ? null : bias.toFloats();
    }

    public int channels() { return channels; }
    public int kernelSize() { return k; }
    public int stride() { return stride; }

    public int outSize(int in) { return (in + 2 * padding - k) / stride + 1; }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, null); }

    /** dwconv(x) + b + residual (residual may be null; same shape as the output). */
    public Tensor forward(Workspace ws, Tensor x, Tensor residual) {
        x.requireRank("depthwise conv '" + name + "'", 4).requireDim("depthwise conv '" + name + "' channels", 1, channels);
        int n = x.dim(0), h = x.dim(2), wd = x.dim(3);
        int oh = outSize(h), ow = outSize(wd);
        if (oh < 1 || ow < 1 || h + 2 * padding < k || wd + 2 * padding < k) {
            throw new IllegalArgumentException("depthwise conv '" + name + "': input " + x + " too small for kernel " + k);
        }
        Tensor y = ws.take(n, channels, oh, ow);
        if (residual != null) Tensor.requireSameShape("depthwise conv '" + name + "' residual", y, residual);
        float[] xd = x.data(), yd = y.data(), rd = residual == null ? null : residual.data();
        boolean fast1 = stride == 1 && wd > L, fast2 = stride == 2 && wd % 2 == 0 && ow >= L;
        if (k == 3 && padding == 1 && (fast1 || fast2)) {
            // the UNet/MobileDiffusion case: straight from the input plane, no copy, no masks
            float[] zero = new float[wd + 2 * L]; // stands in for the padding rows above and below the plane
            Parallel.forRange(n * channels, (from, to) -> {
                for (int plane = from; plane < to; plane++) {
                    int c = plane % channels;
                    float b = bias == null ? 0f : bias[c];
                    if (stride == 1 && h * wd <= COLUMN_PLANE_MAX) plane3x3Columns(xd, plane * h * wd, h, wd, c * 9, b, yd, rd, plane * oh * ow, zero);
                    else if (stride == 1) plane3x3Rows(xd, plane * h * wd, h, wd, c * 9, b, yd, rd, plane * oh * ow, zero);
                    else if (h * wd <= COLUMN_PLANE_MAX) plane3x3Stride2Columns(xd, plane * h * wd, h, wd, c * 9, b, yd, rd, plane * oh * ow, oh, ow, zero);
                    else plane3x3Stride2(xd, plane * h * wd, h, wd, c * 9, b, yd, rd, plane * oh * ow, oh, ow, zero);
                }
            });
            return y;
        }
        // Any other kernel, stride, padding, or a plane narrower than a vector: each channel plane is copied once into
        // a zero-bordered buffer split into `stride` column phases (phase q holds padded columns q, q+s, q+2s ...), so
        // every tap is a plain unit-stride vector load with no edge cases: padded column s·ox + kx is phase kx % s,
        // index ox + kx / s. Rows are long enough for the last partial vector.
        int s = stride;
        int ph = h + 2 * padding;
        int pp = PackedMatrix.ceilDiv(ow, L) * L + (k - 1) / s + 1;   // floats per phase row
        int pw = s == 1 ? Math.max(pp, wd + 2 * padding) : pp;
        int rowLen = s * pw;
        Parallel.forRange(n * channels, (from, to) -> {
            float[] buf = Gemm.scratch(ph * rowLen);
            for (int plane = from; plane < to; plane++) {
                int c = plane % channels;
                java.util.Arrays.fill(buf, 0, padding * rowLen, 0f);
                for (int iy = 0; iy < h; iy++) {
                    int r = (iy + padding) * rowLen, xr = (plane * h + iy) * wd;
                    for (int q = 0; q < s; q++) {
                        int dq = r + q * pw;
                        for (int j = 0, col = q - padding; j < pw; j++, col += s) {
                            buf[dq + j] = col >= 0 && col < wd ? xd[xr + col] : 0f;
                        }
                    }
                }
                java.util.Arrays.fill(buf, (h + padding) * rowLen, ph * rowLen, 0f);
                float b = bias == null ? 0f : bias[c];
                int wBase = c * k * k;
                for (int oy = 0; oy < oh; oy++) {
                    int yo = (plane * oh + oy) * ow;
                    for (int ox = 0; ox < ow; ox += L) {
                        FloatVector acc = FloatVector.broadcast(S, b);
                        for (int ky = 0; ky < k; ky++) {
                            int src = (oy * s + ky) * rowLen + ox;
                            for (int kx = 0; kx < k; kx++) {
                                FloatVector xv = FloatVector.fromArray(S, buf, src + (kx % s) * pw + kx / s);
                                acc = xv.fma(FloatVector.broadcast(S, w[wBase + ky * k + kx]), acc);
                            }
                        }
                        if (ox + L <= ow) {
                            if (rd != null) acc = acc.add(FloatVector.fromArray(S, rd, yo + ox));
                            acc.intoArray(yd, yo + ox);
                        } else {
                            VectorMask<Float> m = S.indexInRange(ox, ow);
                            if (rd != null) acc = acc.add(FloatVector.fromArray(S, rd, yo + ox, m));
                            acc.intoArray(yd, yo + ox, m);
                        }
                    }
                }
            }
        });
        return y;
    }

    /**
     * Largest plane (h·wd floats, 32 KB) that {@link #plane3x3Columns} walks column by column; larger planes go row by
     * row ({@link #plane3x3Rows}). Measured on the build machine: at 64×64 the columns run 1.6–1.8× faster than the
     * rows, from 112×112 up they run slower (the rows stream through memory in order; columns do not).
     */
    static final int COLUMN_PLANE_MAX = 8192;

    /**
     * 3×3, padding 1, stride 1 over one plane (x at {@code xo}, h × wd with wd > L; y at {@code yo}, same size), one
     * column of vectors at a time, top to bottom. Each input row is loaded once per column (three loads: columns
     * ox−1, ox, ox+1) and serves the three output rows it touches, held in three rolling accumulators: it finishes
     * the row above (ky = 2, then stored), continues its own row (ky = 1) and starts the row below (ky = 0). That is
     * 3 loads per output vector instead of 9. Columns sit at 0, L, 2L … and a last one at wd−L (overlapping its
     * neighbour when L does not divide wd; overlapping pixels are computed identically). At the left and right edges
     * the outer taps are the centre load shifted by one lane with a zero coming in; the rows above and below the
     * plane read {@code zero}. Sum order: bias, then taps in (ky, kx) order, then the residual — the same as
     * {@link #plane3x3Rows}, so both give the same bits. (The three-tap sums are written out: a helper method taking
     * vectors, compiled on its own before it is inlined, boxes them and runs 20× slower.)
     */
    private void plane3x3Columns(float[] x, int xo, int h, int wd, int wb, float b, float[] y, float[] r, int yo, float[] zero) {
        FloatVector w0 = FloatVector.broadcast(S, w[wb]), w1 = FloatVector.broadcast(S, w[wb + 1]), w2 = FloatVector.broadcast(S, w[wb + 2]);
        FloatVector w3 = FloatVector.broadcast(S, w[wb + 3]), w4 = FloatVector.broadcast(S, w[wb + 4]), w5 = FloatVector.broadcast(S, w[wb + 5]);
        FloatVector w6 = FloatVector.broadcast(S, w[wb + 6]), w7 = FloatVector.broadcast(S, w[wb + 7]), w8 = FloatVector.broadcast(S, w[wb + 8]);
        FloatVector bv = FloatVector.broadcast(S, b);
        int last = wd - L;
        for (int ox = 0; ; ox = Math.min(ox + L, last)) {
            boolean left = ox == 0, right = ox == last;
            // the zero row above: ky = 0 of output row 0
            FloatVector c = FloatVector.fromArray(S, zero, 1 + ox);
            FloatVector l = left ? c.unslice(1) : FloatVector.fromArray(S, zero, ox);
            FloatVector rt = right ? c.slice(1) : FloatVector.fromArray(S, zero, 2 + ox);
            FloatVector below = rt.fma(w2, c.fma(w1, l.fma(w0, bv)));
            // input row 0: ky = 1 of output row 0, ky = 0 of output row 1
            int q = xo + ox, yq = yo + ox;
            c = FloatVector.fromArray(S, x, q);
            l = left ? c.unslice(1) : FloatVector.fromArray(S, x, q - 1);
            rt = right ? c.slice(1) : FloatVector.fromArray(S, x, q + 1);
            FloatVector here = rt.fma(w5, c.fma(w4, l.fma(w3, below)));
            below = rt.fma(w2, c.fma(w1, l.fma(w0, bv)));
            for (int j = 1; j < h; j++, yq += wd) { // input row j finishes output row j−1
                q += wd;
                c = FloatVector.fromArray(S, x, q);
                l = left ? c.unslice(1) : FloatVector.fromArray(S, x, q - 1);
                rt = right ? c.slice(1) : FloatVector.fromArray(S, x, q + 1);
                FloatVector done = rt.fma(w8, c.fma(w7, l.fma(w6, here)));
                if (r != null) done = done.add(FloatVector.fromArray(S, r, yq));
                done.intoArray(y, yq);
                here = rt.fma(w5, c.fma(w4, l.fma(w3, below)));
                below = rt.fma(w2, c.fma(w1, l.fma(w0, bv)));
            }
            // the zero row below finishes the last output row
            c = FloatVector.fromArray(S, zero, 1 + ox);
            l = left ? c.unslice(1) : FloatVector.fromArray(S, zero, ox);
            rt = right ? c.slice(1) : FloatVector.fromArray(S, zero, 2 + ox);
            FloatVector done = rt.fma(w8, c.fma(w7, l.fma(w6, here)));
            if (r != null) done = done.add(FloatVector.fromArray(S, r, yq));
            done.intoArray(y, yq);
            if (right) break;
        }
    }

    /**
     * 3×3, padding 1, stride 1 over one plane larger than {@link #COLUMN_PLANE_MAX} (layout as
     * {@link #plane3x3Columns}), row by row: the taps of output vector [ox, ox+L) are unit-stride loads at columns
     * ox−1, ox, ox+1 of three rows, with the same vector placement, edge shifts and sum order.
     */
    private void plane3x3Rows(float[] x, int xo, int h, int wd, int wb, float b, float[] y, float[] r, int yo, float[] zero) {
        FloatVector w0 = FloatVector.broadcast(S, w[wb]), w1 = FloatVector.broadcast(S, w[wb + 1]), w2 = FloatVector.broadcast(S, w[wb + 2]);
        FloatVector w3 = FloatVector.broadcast(S, w[wb + 3]), w4 = FloatVector.broadcast(S, w[wb + 4]), w5 = FloatVector.broadcast(S, w[wb + 5]);
        FloatVector w6 = FloatVector.broadcast(S, w[wb + 6]), w7 = FloatVector.broadcast(S, w[wb + 7]), w8 = FloatVector.broadcast(S, w[wb + 8]);
        FloatVector bv = FloatVector.broadcast(S, b);
        int last = wd - L;
        for (int oy = 0; oy < h; oy++) {
            int r1 = xo + oy * wd, yr = yo + oy * wd;
            float[] x0 = oy > 0 ? x : zero, x2 = oy + 1 < h ? x : zero;
            int r0 = oy > 0 ? r1 - wd : 1, r2 = oy + 1 < h ? r1 + wd : 1;
            for (int ox = L; ox < last; ox += L) { // interior vectors
                FloatVector c0 = FloatVector.fromArray(S, x0, r0 + ox), c1 = FloatVector.fromArray(S, x, r1 + ox), c2 = FloatVector.fromArray(S, x2, r2 + ox);
                FloatVector acc = FloatVector.fromArray(S, x0, r0 + ox - 1).fma(w0, bv);
                acc = c0.fma(w1, acc);
                acc = FloatVector.fromArray(S, x0, r0 + ox + 1).fma(w2, acc);
                acc = FloatVector.fromArray(S, x, r1 + ox - 1).fma(w3, acc);
                acc = c1.fma(w4, acc);
                acc = FloatVector.fromArray(S, x, r1 + ox + 1).fma(w5, acc);
                acc = FloatVector.fromArray(S, x2, r2 + ox - 1).fma(w6, acc);
                acc = c2.fma(w7, acc);
                acc = FloatVector.fromArray(S, x2, r2 + ox + 1).fma(w8, acc);
                if (r != null) acc = acc.add(FloatVector.fromArray(S, r, yr + ox));
                acc.intoArray(y, yr + ox);
            }
            { // left edge
                int ox = 0;
                FloatVector c0 = FloatVector.fromArray(S, x0, r0 + ox), c1 = FloatVector.fromArray(S, x, r1 + ox), c2 = FloatVector.fromArray(S, x2, r2 + ox);
                FloatVector acc = c0.unslice(1).fma(w0, bv);
                acc = c0.fma(w1, acc);
                acc = FloatVector.fromArray(S, x0, r0 + ox + 1).fma(w2, acc);
                acc = c1.unslice(1).fma(w3, acc);
                acc = c1.fma(w4, acc);
                acc = FloatVector.fromArray(S, x, r1 + ox + 1).fma(w5, acc);
                acc = c2.unslice(1).fma(w6, acc);
                acc = c2.fma(w7, acc);
                acc = FloatVector.fromArray(S, x2, r2 + ox + 1).fma(w8, acc);
                if (r != null) acc = acc.add(FloatVector.fromArray(S, r, yr + ox));
                acc.intoArray(y, yr + ox);
            }
            { // right edge
                int ox = last;
                FloatVector c0 = FloatVector.fromArray(S, x0, r0 + ox), c1 = FloatVector.fromArray(S, x, r1 + ox), c2 = FloatVector.fromArray(S, x2, r2 + ox);
                FloatVector acc = FloatVector.fromArray(S, x0, r0 + ox - 1).fma(w0, bv);
                acc = c0.fma(w1, acc);
                acc = c0.slice(1).fma(w2, acc);
                acc = FloatVector.fromArray(S, x, r1 + ox - 1).fma(w3, acc);
                acc = c1.fma(w4, acc);
                acc = c1.slice(1).fma(w5, acc);
                acc = FloatVector.fromArray(S, x2, r2 + ox - 1).fma(w6, acc);
                acc = c2.fma(w7, acc);
                acc = c2.slice(1).fma(w8, acc);
                if (r != null) acc = acc.add(FloatVector.fromArray(S, r, yr + ox));
                acc.intoArray(y, yr + ox);
            }
        }
    }

    /**
     * 3×3, padding 1, stride 2 over one plane of even width (ow = wd/2 ≥ L) up to {@link #COLUMN_PLANE_MAX}, one column
     * of output vectors at a time, top to bottom. Input row 2m feeds only output row m (ky = 1); input row 2m+1 feeds
     * output row m (ky = 2, which finishes it) and output row m+1 (ky = 0, which starts it), so each input row is
     * loaded and split into even and odd columns once instead of once per output row it feeds. Taps, edges and sum
     * order as {@link #plane3x3Stride2}, so both give the same bits.
     */
    private void plane3x3Stride2Columns(float[] x, int xo, int h, int wd, int wb, float b, float[] y, float[] r, int yo, int oh, int ow, float[] zero) {
        FloatVector w0 = FloatVector.broadcast(S, w[wb]), w1 = FloatVector.broadcast(S, w[wb + 1]), w2 = FloatVector.broadcast(S, w[wb + 2]);
        FloatVector w3 = FloatVector.broadcast(S, w[wb + 3]), w4 = FloatVector.broadcast(S, w[wb + 4]), w5 = FloatVector.broadcast(S, w[wb + 5]);
        FloatVector w6 = FloatVector.broadcast(S, w[wb + 6]), w7 = FloatVector.broadcast(S, w[wb + 7]), w8 = FloatVector.broadcast(S, w[wb + 8]);
        FloatVector bv = FloatVector.broadcast(S, b);
        FloatVector even = FloatVector.fromArray(S, GemmKernel.EVEN_LANES, 0), odd = FloatVector.fromArray(S, GemmKernel.ODD_LANES, 0);
        int last = ow - L;
        for (int ox = 0; ; ox = Math.min(ox + L, last)) {
            boolean left = ox == 0;
            int c = 2 * ox; // input column of tap kx = 1 in lane 0
            // the zero row above: ky = 0 of output row 0
            FloatVector lo = FloatVector.fromArray(S, zero, 2 + c), hi = FloatVector.fromArray(S, zero, 2 + c + L);
            FloatVector o = odd.selectFrom(lo, hi), e = even.selectFrom(lo, hi);
            FloatVector ol = left ? o.unslice(1) : odd.selectFrom(FloatVector.fromArray(S, zero, c), FloatVector.fromArray(S, zero, c + L));
            FloatVector acc = o.fma(w2, e.fma(w1, ol.fma(w0, bv)));
            int yq = yo + ox;
            for (int m = 0; m < oh; m++, yq += ow) {
                // input row 2m: ky = 1 of output row m
                int q = xo + 2 * m * wd + c;
                lo = FloatVector.fromArray(S, x, q);
                hi = FloatVector.fromArray(S, x, q + L);
                o = odd.selectFrom(lo, hi);
                e = even.selectFrom(lo, hi);
                ol = left ? o.unslice(1) : odd.selectFrom(FloatVector.fromArray(S, x, q - 2), FloatVector.fromArray(S, x, q - 2 + L));
                acc = o.fma(w5, e.fma(w4, ol.fma(w3, acc)));
                // input row 2m+1 (the zero row below an odd-height plane): ky = 2 of row m, ky = 0 of row m+1
                float[] xs = 2 * m + 1 < h ? x : zero;
                int q1 = 2 * m + 1 < h ? q + wd : 2 + c;
                lo = FloatVector.fromArray(S, xs, q1);
                hi = FloatVector.fromArray(S, xs, q1 + L);
                o = odd.selectFrom(lo, hi);
                e = even.selectFrom(lo, hi);
                ol = left ? o.unslice(1) : odd.selectFrom(FloatVector.fromArray(S, xs, q1 - 2), FloatVector.fromArray(S, xs, q1 - 2 + L));
                FloatVector done = o.fma(w8, e.fma(w7, ol.fma(w6, acc)));
                if (r != null) done = done.add(FloatVector.fromArray(S, r, yq));
                done.intoArray(y, yq);
                acc = o.fma(w2, e.fma(w1, ol.fma(w0, bv)));
            }
            if (ox == last) break;
        }
    }

    /**
     * 3×3, padding 1, stride 2 over one plane of even width (ow = wd/2 ≥ L) larger than {@link #COLUMN_PLANE_MAX},
     * row by row, straight from the input: output vector [ox, ox+L) reads input columns 2·ox−1 … 2·ox+2L−1. The two
     * loads from column 2·ox split into even columns (tap kx = 1) and odd columns (kx = 2); the two loads from column
     * 2·ox−2 give the odd columns one to the left (kx = 0), which at the left edge are the odd columns shifted by one
     * lane with a zero coming in. Vector placement and sum order as {@link #plane3x3Rows}; the row below the last
     * (odd h) reads {@code zero}.
     */
    private void plane3x3Stride2(float[] x, int xo, int h, int wd, int wb, float b, float[] y, float[] r, int yo, int oh, int ow, float[] zero) {
        FloatVector w0 = FloatVector.broadcast(S, w[wb]), w1 = FloatVector.broadcast(S, w[wb + 1]), w2 = FloatVector.broadcast(S, w[wb + 2]);
        FloatVector w3 = FloatVector.broadcast(S, w[wb + 3]), w4 = FloatVector.broadcast(S, w[wb + 4]), w5 = FloatVector.broadcast(S, w[wb + 5]);
        FloatVector w6 = FloatVector.broadcast(S, w[wb + 6]), w7 = FloatVector.broadcast(S, w[wb + 7]), w8 = FloatVector.broadcast(S, w[wb + 8]);
        FloatVector bv = FloatVector.broadcast(S, b);
        FloatVector even = FloatVector.fromArray(S, GemmKernel.EVEN_LANES, 0), odd = FloatVector.fromArray(S, GemmKernel.ODD_LANES, 0);
        int last = ow - L;
        for (int oy = 0; oy < oh; oy++) {
            int r1 = xo + 2 * oy * wd, yr = yo + oy * ow;
            float[] x0 = oy > 0 ? x : zero, x2 = 2 * oy + 1 < h ? x : zero;
            int r0 = oy > 0 ? r1 - wd : 2, r2 = 2 * oy + 1 < h ? r1 + wd : 2;
            for (int ox = 0; ; ox = Math.min(ox + L, last)) {
                boolean left = ox == 0;
                int c = 2 * ox; // input column of tap kx = 1 in lane 0
                FloatVector a0 = FloatVector.fromArray(S, x0, r0 + c), b0 = FloatVector.fromArray(S, x0, r0 + c + L);
                FloatVector a1 = FloatVector.fromArray(S, x, r1 + c), b1 = FloatVector.fromArray(S, x, r1 + c + L);
                FloatVector a2 = FloatVector.fromArray(S, x2, r2 + c), b2 = FloatVector.fromArray(S, x2, r2 + c + L);
                FloatVector o0 = odd.selectFrom(a0, b0), o1 = odd.selectFrom(a1, b1), o2 = odd.selectFrom(a2, b2);
                FloatVector acc = (left ? o0.unslice(1) : odd.selectFrom(FloatVector.fromArray(S, x0, r0 + c - 2), FloatVector.fromArray(S, x0, r0 + c - 2 + L))).fma(w0, bv);
                acc = even.selectFrom(a0, b0).fma(w1, acc);
                acc = o0.fma(w2, acc);
                acc = (left ? o1.unslice(1) : odd.selectFrom(FloatVector.fromArray(S, x, r1 + c - 2), FloatVector.fromArray(S, x, r1 + c - 2 + L))).fma(w3, acc);
                acc = even.selectFrom(a1, b1).fma(w4, acc);
                acc = o1.fma(w5, acc);
                acc = (left ? o2.unslice(1) : odd.selectFrom(FloatVector.fromArray(S, x2, r2 + c - 2), FloatVector.fromArray(S, x2, r2 + c - 2 + L))).fma(w6, acc);
                acc = even.selectFrom(a2, b2).fma(w7, acc);
                acc = o2.fma(w8, acc);
                if (r != null) acc = acc.add(FloatVector.fromArray(S, r, yr + ox));
                acc.intoArray(y, yr + ox);
                if (ox == last) break;
            }
        }
    }
}
