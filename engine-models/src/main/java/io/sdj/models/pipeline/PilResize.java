package io.sdj.models.pipeline;

/**
 * PIL's {@code Image.resize(size, Image.LANCZOS)} on 8-bit RGB, which diffusers' {@code VaeImageProcessor} applies to
 * init images and masks ({@code resample="lanczos"}): a separable convolution, horizontal pass then vertical pass,
 * with the Lanczos-3 window widened by the downscale factor, weights normalised per output pixel and rounded to
 * 22-bit fixed point, sums rounded half up and clipped to 0..255 (PIL 9 {@code Resample.c}). Same size: a copy.
 */
public final class PilResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResize() {}

    public static RgbImage lanczos(RgbImage in, int width, int height) {
        if (width < 1 || height < 1) throw new IllegalArgumentException("resize to " + width + "×" + height + " is empty");
        if (in.width() == width && in.height() == height) return in;
        byte[] src = in.rgb();
        int w = in.width(), h = in.height();
        if (width != w) {
            src = horizontal(src, w, h, width);
            w = width;
        }
        if (height != h) src = vertical(src, w, h, height);
        return new RgbImage(width, height, src);
    }

    /** Fixed-point weights: for each output pixel its first input index, count, and weights. */
    private record Coeffs(int[] start, int[] count, int[][] k) { }

    private static double sinc(double x) {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.sin(x) / x;
    }

    private static double lanczos(double x) {
        return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
    }

    private static Coeffs coeffs(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = 3.0 * filterscale;
        int[] start = new int[outSize], count = new int[outSize];
        int[][] k = new int[outSize][];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterscale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            double[] pre = new double[xmax];
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double v = lanczos((x + xmin - center + 0.5) * ss);
                pre[x] = v;
                ww += v;
            }
            int[] kk = new int[xmax];
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0.0 ? pre[x] / ww : pre[x];
                kk[x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            start[xx] = xmin;
            count[xx] = xmax;
            k[xx] = kk;
        }
        return new Coeffs(start, count, k);
    }

    private static byte clip8(long v) {
        long s = v >> PRECISION_BITS;
        return (byte) (s < 0 ? 0 : s > 255 ? 255 : s);
    }

    private static byte[] horizontal(byte[] src, int w, int h, int outW) {
        Coeffs c = coeffs(w, outW);
        byte[] out = new byte[3 * outW * h];
        for (int y = 0; y < h; y++) {
            for (int xx = 0; xx < outW; xx++) {
                int[] k = c.k[xx];
                for (int ch = 0; ch < 3; ch++) {
                    long ss = 1L << (PRECISION_BITS - 1);
                    for (int x = 0; x < c.count[xx]; x++) ss += (long) (src[3 * (y * w + c.start[xx] + x) + ch] & 0xFF) * k[x];
                    out[3 * (y * outW + xx) + ch] = clip8(ss);
                }
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] src, int w, int h, int outH) {
        Coeffs c = coeffs(h, outH);
        byte[] out = new byte[3 * w * outH];
        for (int yy = 0; yy < outH; yy++) {
            int[] k = c.k[yy];
            for (int x = 0; x < w; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    long ss = 1L << (PRECISION_BITS - 1);
                    for (int y = 0; y < c.count[yy]; y++) ss += (long) (src[3 * ((c.start[yy] + y) * w + x) + ch] & 0xFF) * k[y];
                    out[3 * (yy * w + x) + ch] = clip8(ss);
                }
            }
        }
        return out;
    }
}
