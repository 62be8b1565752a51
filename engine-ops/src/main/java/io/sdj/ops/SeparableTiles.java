package io.sdj.ops;

import jdk.incubator.vector.FloatVector;

import static io.sdj.ops.GemmKernel.L;
import static io.sdj.ops.GemmKernel.NR;
import static io.sdj.ops.GemmKernel.S;

/**
 * The B operand of a separable convolution's pointwise GEMM, produced tile by tile: the depthwise 3×3 output
 * (stride 1, zero padding 1, bias) of channels k0… at output pixels j0… of one image, computed straight into the
 * GEMM's packed panels ({@link Gemm.TileSource}), so the whole depthwise output is never written to memory and read
 * back. For each channel the input rows the pixel span touches are copied once into a zero-bordered row buffer
 * (width W + 2), then each output row segment is a vector of 9 fused multiply-adds in (ky, kx) order after the bias.
 */
final class SeparableTiles implements Gemm.TileSource {
    private final float[] x;
    private final int xOff, h, w;
    private final float[] dw, dwBias;    // [C·9], [C] or null

    SeparableTiles(float[] x, int xOff, int h, int w, float[] dw, float[] dwBias) {
        this.x = x;
        this.xOff = xOff;
        this.h = h;
        this.w = w;
        this.dw = dw;
        this.dwBias = dwBias;
    }

    @Override
    public void pack(int k0, int kc, int j0, int nc, float[] dst) {
        int panels = (nc + NR - 1) / NR;
        int y0 = j0 / w, y1 = (j0 + nc - 1) / w;          // output rows of the span
        int rows = y1 - y0 + 3, pw = w + 2 + L;            // padded rows y0−1 … y1+1, room for a full last vector
        float[] buf = SCRATCH.atLeast(rows * pw + panels * NR);
        int span = rows * pw;                              // the channel's depthwise values follow the row buffer
        for (int c = k0; c < k0 + kc; c++) {
            int plane = xOff + c * h * w;
            for (int r = 0; r < rows; r++) {
                int iy = y0 - 1 + r, o = r * pw;
                buf[o] = 0f;
                if (iy >= 0 && iy < h) System.arraycopy(x, plane + iy * w, buf, o + 1, w);
                else java.util.Arrays.fill(buf, o + 1, o + 1 + w, 0f);
                java.util.Arrays.fill(buf, o + 1 + w, o + pw, 0f);
            }
            float b = dwBias == null ? 0f : dwBias[c];
            int wb = c * 9;
            FloatVector w0 = FloatVector.broadcast(S, dw[wb]), w1 = FloatVector.broadcast(S, dw[wb + 1]), w2 = FloatVector.broadcast(S, dw[wb + 2]);
            FloatVector w3 = FloatVector.broadcast(S, dw[wb + 3]), w4 = FloatVector.broadcast(S, dw[wb + 4]), w5 = FloatVector.broadcast(S, dw[wb + 5]);
            FloatVector w6 = FloatVector.broadcast(S, dw[wb + 6]), w7 = FloatVector.broadcast(S, dw[wb + 7]), w8 = FloatVector.broadcast(S, dw[wb + 8]);
            FloatVector bv = FloatVector.broadcast(S, b);
            for (int y = y0; y <= y1; y++) {
                int xa = y == y0 ? j0 - y0 * w : 0, xb = y == y1 ? j0 + nc - y1 * w : w;
                int r0 = (y - y0) * pw, r1 = r0 + pw, r2 = r1 + pw;   // padded rows y−1, y, y+1; column x−1 at index x
                int out = span + y * w - j0;
                for (int xx = xa; xx < xb; xx += L) {
                    FloatVector acc = FloatVector.fromArray(S, buf, r0 + xx).fma(w0, bv);
                    acc = FloatVector.fromArray(S, buf, r0 + xx + 1).fma(w1, acc);
                    acc = FloatVector.fromArray(S, buf, r0 + xx + 2).fma(w2, acc);
                    acc = FloatVector.fromArray(S, buf, r1 + xx).fma(w3, acc);
                    acc = FloatVector.fromArray(S, buf, r1 + xx + 1).fma(w4, acc);
                    acc = FloatVector.fromArray(S, buf, r1 + xx + 2).fma(w5, acc);
                    acc = FloatVector.fromArray(S, buf, r2 + xx).fma(w6, acc);
                    acc = FloatVector.fromArray(S, buf, r2 + xx + 1).fma(w7, acc);
                    acc = FloatVector.fromArray(S, buf, r2 + xx + 2).fma(w8, acc);
                    if (xx + L <= xb) acc.intoArray(buf, out + xx);
                    else acc.intoArray(buf, out + xx, S.indexInRange(xx, xb));
                }
            }
            java.util.Arrays.fill(buf, span + nc, span + panels * NR, 0f);
            for (int p = 0; p < panels; p++) System.arraycopy(buf, span + p * NR, dst, p * kc * NR + (c - k0) * NR, NR);
        }
    }

    private static final ThreadScratch SCRATCH = new ThreadScratch();
}
