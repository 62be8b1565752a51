package io.sdj.models.pipeline;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * PIL's Lanczos resize against a plain double-precision evaluation of the same separable filter (PIL's window,
 * support widened by the downscale factor, per-pixel normalisation; the intermediate row pass rounded to 8 bits as
 * PIL stores it): the fixed-point result may differ by 1 from rounding.
 */
class PilResizeTest {

    private static double lanczos(double x) {
        if (x <= -3 || x >= 3) return 0;
        if (x == 0) return 1;
        double a = Math.PI * x;
        return Math.sin(a) / a * Math.sin(a / 3) / (a / 3);
    }

    /** One axis: out[i] = Σ w·in / Σ w over PIL's window. */
    private static double[] axis(double[] in, int outSize) {
        int n = in.length;
        double scale = (double) n / outSize, fs = Math.max(scale, 1), support = 3 * fs;
        double[] out = new double[outSize];
        for (int i = 0; i < outSize; i++) {
            double center = (i + 0.5) * scale;
            int lo = Math.max(0, (int) (center - support + 0.5)), hi = Math.min(n, (int) (center + support + 0.5));
            double sw = 0, s = 0;
            for (int x = lo; x < hi; x++) {
                double w = lanczos((x - center + 0.5) / fs);
                sw += w;
                s += w * in[x];
            }
            out[i] = s / sw;
        }
        return out;
    }

    private static int clip(double v) { return (int) Math.max(0, Math.min(255, Math.floor(v + 0.5))); }

    @Test
    void matchesTheDoubleFilterWithinOneLevel() {
        Random rnd = new Random(5);
        int[][] sizes = {{37, 23, 16, 16}, {16, 16, 37, 29}, {50, 40, 50, 13}, {13, 40, 27, 40}, {9, 7, 64, 3}};
        for (int[] sz : sizes) {
            int w = sz[0], h = sz[1], ow = sz[2], oh = sz[3];
            byte[] rgb = new byte[3 * w * h];
            rnd.nextBytes(rgb);
            RgbImage out = PilResize.lanczos(new RgbImage(w, h, rgb), ow, oh);
            for (int c = 0; c < 3; c++) {
                // rows first (if the width changes), rounded to 8 bits, then columns
                double[][] mid = new double[h][];
                for (int y = 0; y < h; y++) {
                    double[] row = new double[w];
                    for (int x = 0; x < w; x++) row[x] = rgb[3 * (y * w + x) + c] & 0xFF;
                    mid[y] = ow == w ? row : axis(row, ow);
                    if (ow != w) for (int x = 0; x < ow; x++) mid[y][x] = clip(mid[y][x]);
                }
                for (int x = 0; x < ow; x++) {
                    double[] col = new double[h];
                    for (int y = 0; y < h; y++) col[y] = mid[y][x];
                    double[] res = oh == h ? col : axis(col, oh);
                    for (int y = 0; y < oh; y++) {
                        int got = (out.pixel(x, y) >> (16 - 8 * c)) & 0xFF;
                        assertThat(Math.abs(got - clip(res[y]))).as("%s channel %d at %d,%d", java.util.Arrays.toString(sz), c, x, y)
                                .isLessThanOrEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void sameSizeIsACopyAndAConstantStaysConstant() {
        byte[] rgb = new byte[3 * 20 * 10];
        java.util.Arrays.fill(rgb, (byte) 77);
        RgbImage img = new RgbImage(20, 10, rgb);
        assertThat(PilResize.lanczos(img, 20, 10).rgb()).isEqualTo(rgb);
        RgbImage r = PilResize.lanczos(img, 13, 31);
        for (byte b : r.rgb()) assertThat(b & 0xFF).isEqualTo(77);
    }

    @Test
    void masksBinariseAfterGreyConversion() {
        byte[] rgb = new byte[3 * 16 * 8];
        for (int p = 0; p < 16 * 8; p++) if (p % 16 >= 8) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = (byte) 255;
        var m = ImagePreprocessor.maskCondition(new RgbImage(16, 8, rgb), 16, 8);
        for (int p = 0; p < 16 * 8; p++) assertThat(m.data()[p]).isEqualTo(p % 16 >= 8 ? 1f : 0f);
        // pure red is luma 76/255 < 0.5: kept
        byte[] red = new byte[3 * 8 * 8];
        for (int p = 0; p < 64; p++) red[3 * p] = (byte) 255;
        for (float v : ImagePreprocessor.maskCondition(new RgbImage(8, 8, red), 8, 8).data()) assertThat(v).isZero();
    }
}
