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

    ConvPatches(float[] x, int xOff, int h, int w, int k, int stride, int pad, int ow) {
        this.x = x;
        this.xOff = xOff;
        this.h = h;
        this.w = w;
        this.k = k;
        this.stride = stride;
        this.pad = pad;
        this.ow = ow;
    }

    @Override
    public void pack(int k0, int kc, int j0, int nc, float[] dst) {
        int kk2 = k * k, end = j0 + nc, panelFloats = kc * NR;
        boolean direct = k == 1 && stride == 1 && pad == 0; // B is the image itself: rows are channels
        for (int r = 0; r < kc; r++) {
            int kk = k0 + r;
            int c = kk / kk2, rem = kk - c * kk2, ky = rem / k, kx = rem - ky * k;
            int plane = xOff + c * h * w;
            // walk the tile's pixels in runs that stay on one output row and inside one panel
            int oy = j0 / ow, ox0 = j0 - oy * ow, p = 0, lane = 0;
            for (int q = j0; q < end; ) {
                int run = Math.min(Math.min(end - q, ow - ox0), NR - lane);
                int dd = p * panelFloats + r * NR + lane;
                if (direct) {
                    copy(x, plane + q, dst, dd, run);
                } else {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h) {
                        Arrays.fill(dst, dd, dd + run, 0f);
                    } else {
                        int ix0 = ox0 * stride - pad + kx;        // input column of the run's first pixel
                        int lo = ix0 >= 0 ? 0 : Math.min(run, (-ix0 + stride - 1) / stride);
                        int hi = ix0 + (run - 1) * stride < w ? run : Math.max(lo, Math.min(run, Math.floorDiv(w - 1 - ix0, stride) + 1));
                        for (int t = 0; t < lo; t++) dst[dd + t] = 0f;
                        int src = plane + iy * w + ix0;
                        if (stride == 1) {
                            copy(x, src + lo, dst, dd + lo, hi - lo);
                        } else if (stride == 2) {
                            copyEven(x, src + 2 * lo, dst, dd + lo, hi - lo);
                        } else {
                            for (int t = lo; t < hi; t++) dst[dd + t] = x[src + t * stride];
                        }
                        for (int t = hi; t < run; t++) dst[dd + t] = 0f;
                    }
                }
                q += run;
                ox0 += run;
                if (ox0 == ow) {
                    ox0 = 0;
                    oy++;
                }
                lane += run;
                if (lane == NR) {
                    lane = 0;
                    p++;
                }
            }
            if (lane > 0) Arrays.fill(dst, p * panelFloats + r * NR + lane, p * panelFloats + (r + 1) * NR, 0f);
        }
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
