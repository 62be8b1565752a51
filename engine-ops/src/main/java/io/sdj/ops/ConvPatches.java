package io.sdj.ops;

import java.util.Arrays;

import static io.sdj.ops.GemmKernel.NR;

/**
 * The convolution's B operand gathered tile by tile straight from one NCHW image ("implicit im2col"):
 * B[kk, p] = x[c, oy·s − pad + ky, ox·s − pad + kx] with kk = (c·k + ky)·k + kx and p = oy·ow + ox, zero outside the
 * image. Only a KC × NC tile exists at a time, never the whole patch matrix.
 * <p>Each panel of NR pixels is cut into runs that stay on one output row; for stride 1 a run maps to consecutive
 * input pixels and is copied in one piece, with the padded edges zero-filled.
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
        int kk2 = k * k;
        boolean direct = k == 1 && stride == 1 && pad == 0; // B is the image itself: rows are channels
        for (int p = 0, pj = j0; pj < j0 + nc; p++, pj += NR) {
            int len = Math.min(NR, j0 + nc - pj);
            int panel = p * kc * NR;
            if (direct) {
                int hw = h * w;
                for (int r = 0; r < kc; r++) {
                    int d = panel + r * NR;
                    System.arraycopy(x, xOff + (k0 + r) * hw + pj, dst, d, len);
                    if (len < NR) Arrays.fill(dst, d + len, d + NR, 0f);
                }
                continue;
            }
            for (int r = 0; r < kc; r++) {
                int kk = k0 + r;
                int c = kk / kk2, rem = kk - c * kk2, ky = rem / k, kx = rem - ky * k;
                int d = panel + r * NR;
                int plane = xOff + c * h * w;
                // runs of this panel, one per output row touched
                for (int q = pj, end = pj + len; q < end; ) {
                    int oy = q / ow, ox0 = q - oy * ow;
                    int run = Math.min(end - q, ow - ox0);
                    int dd = d + (q - pj);
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= h) {
                        Arrays.fill(dst, dd, dd + run, 0f);
                    } else {
                        int ix0 = ox0 * stride - pad + kx;        // input column of the run's first pixel
                        int lo = ix0 >= 0 ? 0 : Math.min(run, (-ix0 + stride - 1) / stride);
                        int hi = ix0 + (run - 1) * stride < w ? run : Math.max(lo, Math.min(run, Math.floorDiv(w - 1 - ix0, stride) + 1));
                        if (lo > 0) Arrays.fill(dst, dd, dd + lo, 0f);
                        int src = plane + iy * w + ix0;
                        if (stride == 1) {
                            if (hi > lo) System.arraycopy(x, src + lo, dst, dd + lo, hi - lo);
                        } else {
                            for (int t = lo; t < hi; t++) dst[dd + t] = x[src + t * stride];
                        }
                        if (hi < run) Arrays.fill(dst, dd + hi, dd + run, 0f);
                    }
                    q += run;
                }
                if (len < NR) Arrays.fill(dst, d + len, d + NR, 0f);
            }
        }
    }
}
