package io.sdj.models.pipeline;

import io.sdj.core.Tensor;

/**
 * diffusers' {@code VaeImageProcessor} for init images and masks: images are resized (PIL Lanczos, see
 * {@link PilResize}) to the requested size and normalised to {@code float32(u8) / 255 · 2 − 1}; masks are converted
 * to grey as PIL's {@code convert("L")} does (ITU-R 601-2 luma, 16-bit fixed point), resized, divided by 255 and
 * binarised at 0.5 (1 = repaint, 0 = keep).
 */
public final class ImagePreprocessor {
    private ImagePreprocessor() {}

    /** The size diffusers gives an image when none is requested: each side rounded down to a multiple of {@code factor}. */
    public static int[] defaultSize(RgbImage image, int factor) {
        return new int[] {image.width() - image.width() % factor, image.height() - image.height() % factor};
    }

    /** [1, 3, height, width] in [−1, 1]. */
    public static Tensor normalized(RgbImage image, int width, int height) {
        RgbImage r = PilResize.lanczos(image, width, height);
        byte[] rgb = r.rgb();
        int plane = width * height;
        float[] out = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) out[c * plane + p] = 2f * ((rgb[3 * p + c] & 0xFF) / 255f) - 1f;
        }
        return Tensor.of(out, 1, 3, height, width);
    }

    /** [1, 1, height, width] of 0 (keep) and 1 (repaint). */
    public static Tensor maskCondition(RgbImage mask, int width, int height) {
        byte[] rgb = mask.rgb();
        byte[] grey = new byte[rgb.length];
        for (int p = 0; p < rgb.length / 3; p++) {
            int l = ((rgb[3 * p] & 0xFF) * 19595 + (rgb[3 * p + 1] & 0xFF) * 38470 + (rgb[3 * p + 2] & 0xFF) * 7471 + 0x8000) >> 16;
            grey[3 * p] = grey[3 * p + 1] = grey[3 * p + 2] = (byte) l;
        }
        RgbImage r = PilResize.lanczos(new RgbImage(mask.width(), mask.height(), grey), width, height);
        byte[] g = r.rgb();
        float[] out = new float[width * height];
        for (int p = 0; p < out.length; p++) out[p] = (g[3 * p] & 0xFF) / 255f >= 0.5f ? 1f : 0f;
        return Tensor.of(out, 1, 1, height, width);
    }
}
