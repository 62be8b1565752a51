package io.sdj.models.pipeline;

/** An 8-bit RGB image, row-major, 3 bytes per pixel (immutable: accessors return copies). */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width < 1 || height < 1 || rgb.length != 3L * width * height) {
            throw new IllegalArgumentException("RGB image " + width + "×" + height + " needs " + 3L * width * height + " bytes, got " + rgb.length);
        }
        rgb = rgb.clone();
    }

    @Override
    public byte[] rgb() { return rgb.clone(); }

    /** Red, green, blue of one pixel packed as 0xRRGGBB. */
    public int pixel(int x, int y) {
        int o = 3 * (y * width + x);
        return (rgb[o] & 0xFF) << 16 | (rgb[o + 1] & 0xFF) << 8 | (rgb[o + 2] & 0xFF);
    }

    /**
     * Image {@code index} of an NCHW batch with values in [0, 1], quantised as diffusers does for PIL output:
     * round(x·255) (clamped to [0, 1] first).
     */
    public static RgbImage fromNchw(float[] data, int index, int height, int width) {
        byte[] out = new byte[3 * width * height];
        int plane = width * height, base = index * 3 * plane;
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < plane; p++) {
                float v = Math.min(1f, Math.max(0f, data[base + c * plane + p]));
                out[3 * p + c] = (byte) (int) Math.rint(v * 255f);
            }
        }
        return new RgbImage(width, height, out);
    }
}
