package io.sdj.ops;

import jdk.incubator.vector.FloatVector;

import java.util.Arrays;

import static io.sdj.ops.GemmKernel.L;
import static io.sdj.ops.GemmKernel.NR;
import static io.sdj.ops.GemmKernel.S;

/**
 * The convolution's B operand gathered tile by tile straight from one NCHW image ("implicit im2col"):
 * B[kk, p] = x[c, oy·s − pad + ky, ox·s − pad + kx] with kk = (c·k + ky)·k + kx and p = oy·ow + ox, zero outside the
 * image. Only a KC × NC tile exists at a time, never the whole patch matrix.
 * <p>Row by row of B (one (channel, ky, kx) each), the tile's pixels are cut into runs that stay on one output row
 * and inside one panel; a run maps to consecutive input pixels (stride 1) or every other one (stride 2) and is copied
 * a vector at a time, with the padded edges zero-filled.
 */
final class ConvPatches implements Gemm.TileSource {
    private final float[] x;
    private final int xOff, h, w, k, stride, pad, ow;
    /** Ints per run in the run table: panel offset, input row and column of tap (0, 0), length, then lo and hi per kx. */
    private final int runInts;

    ConvPatches(float[] x, int xOff, int h, int w, int k, int stride, int pad, int ow) {
        this.x = x;
        this.xOff = xOff;
        this.h = h;
        this.w = w;
        this.k = k;
        this.stride = stride;
        this.pad = pad;
        this.ow = ow;
        this.runInts = 4 + 2 * k;
    }

    @Override
    public void pack(int k0, int kc, int j0, int nc, float[] dst) {
        int panelFloats = kc * NR;
        // The tile's pixels cut into runs that stay on one output row and inside one panel, and for each run and
        // kernel column the lanes [lo, hi) that fall inside the image (the rest is padding): worked out once per tile,
        // so the loop over B's rows below does no division and no edge arithmetic.
        int[] runs = runTable(nc);
        int nRuns = 0;
        for (int q = j0, oy = j0 / ow, ox0 = q - oy * ow, lane = 0, p = 0; q < j0 + nc; nRuns++) {
            int len = Math.min(Math.min(j0 + nc - q, ow - ox0), NR - lane);
            int at = nRuns * runInts;
            runs[at] = p * panelFloats + lane;
            runs[at + 1] = oy * stride - pad;     // input row of ky = 0
            runs[at + 2] = ox0 * stride - pad;    // input column of kx = 0 for the run's first pixel
            runs[at + 3] = len;
            for (int kx = 0; kx < k; kx++) {
                int ix0 = ox0 * stride - pad + kx;
                int lo = ix0 >= 0 ? 0 : Math.min(len, (-ix0 + stride - 1) / stride);
                int hi = ix0 + (len - 1) * stride < w ? len : Math.max(lo, Math.min(len, Math.floorDiv(w - 1 - ix0, stride) + 1));
                runs[at + 4 + 2 * kx] = lo;
                runs[at + 5 + 2 * kx] = hi;
            }
            q += len;
            ox0 += len;
            if (ox0 == ow) {
                ox0 = 0;
                oy++;
            }
            lane += len;
            if (lane == NR) {
                lane = 0;
                p++;
            }
        }
        int tailLanes = nc % NR, lastPanel = (nc / NR) * panelFloats;
        int kk2 = k * k, c = k0 / kk2, ky = (k0 - c * kk2) / k, kx = k0 - c * kk2 - ky * k;
        for (int r = 0; r < kc; r++) {
            int plane = xOff + c * h * w, row = r * NR;
            for (int at = 0; at < nRuns * runInts; at += runInts) {
                int dd = runs[at] + row, iy = runs[at + 1] + ky, len = runs[at + 3];
                if (iy < 0 || iy >= h) {
                    Arrays.fill(dst, dd, dd + len, 0f);
                    continue;
                }
                int lo = runs[at + 4 + 2 * kx], hi = runs[at + 5 + 2 * kx];
                int src = plane + iy * w + runs[at + 2] + kx;
                for (int t = 0; t < lo; t++) dst[dd + t] = 0f;
                if (stride == 1) {
                    copy(x, src + lo, dst, dd + lo, hi - lo);
                } else if (stride == 2) {
                    copyEven(x, src + 2 * lo, dst, dd + lo, hi - lo);
                } else {
                    for (int t = lo; t < hi; t++) dst[dd + t] = x[src + t * stride];
                }
                for (int t = hi; t < len; t++) dst[dd + t] = 0f;
            }
            if (tailLanes > 0) Arrays.fill(dst, lastPanel + row + tailLanes, lastPanel + row + NR, 0f);
            if (++kx == k) {
                kx = 0;
                if (++ky == k) {
                    ky = 0;
                    c++;
                }
            }
        }
    }

    private static final ThreadLocal<int[]> RUNS = new ThreadLocal<>();

    /** This thread's run table, room for every run of an nc-pixel tile (kept for reuse). */
    private int[] runTable(int nc) {
        int need = (nc / NR + nc / ow + 2) * runInts;
        int[] t = RUNS.get();
        if (t == null || t.length < need) {
            t = new int[need];
            RUNS.set(t);
        }
        return t;
    }

    /**
     * dst[d + t] = x[s + t] for t < n: whole vectors, the last one overlapping its neighbour when L does not divide n
     * (runs here are short, ≤ NR, and often one short of it at the image edges); runs shorter than a vector one by one.
     */
    private static void copy(float[] x, int s, float[] dst, int d, int n) {
        if (n < L) {
            for (int t = 0; t < n; t++) dst[d + t] = x[s + t];
            return;
        }
        for (int t = 0; ; t += L) {
            int u = Math.min(t, n - L);
            FloatVector.fromArray(S, x, s + u).intoArray(dst, d + u);
            if (u == n - L) return;
        }
    }

    /**
     * dst[d + t] = x[s + 2t] for t < n (a stride-2 run): two loads split into their even lanes per vector (the odd
     * lane past the run is read but not used), one by one when the run is shorter than a vector or its loads would
     * leave the array.
     */
    private static void copyEven(float[] x, int s, float[] dst, int d, int n) {
        int t = 0;
        if (n >= L && s + 2 * n <= x.length) {
            FloatVector even = FloatVector.fromArray(S, GemmKernel.EVEN_LANES, 0);
            for (; ; t += L) {
                int u = Math.min(t, n - L); // the last vector overlaps its neighbour when L does not divide n
                even.selectFrom(FloatVector.fromArray(S, x, s + 2 * u), FloatVector.fromArray(S, x, s + 2 * u + L)).intoArray(dst, d + u);
                if (u == n - L) return;
            }
        }
        for (; t < n; t++) dst[d + t] = x[s + 2 * t];
    }
}
