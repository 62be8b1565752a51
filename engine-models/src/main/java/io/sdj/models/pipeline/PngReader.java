package io.sdj.models.pipeline;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads an image file (PNG, or whatever else {@code javax.imageio} reads: JPEG, BMP, GIF) as 8-bit RGB the way PIL's
 * {@code convert("RGB")} sees it: grey images repeat their grey value (no colour-space conversion), an alpha channel
 * is dropped (not composited), palette images are looked up, 16-bit samples keep their high byte.
 */
public final class PngReader {
    private PngReader() {}

    /** @throws IllegalArgumentException naming the file when it is missing or not a readable image */
    public static RgbImage read(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("image not found: " + file);
        BufferedImage img;
        try (InputStream in = Files.newInputStream(file)) {
            img = ImageIO.read(in);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot read image " + file + ": " + e.getMessage(), e);
        }
        if (img == null) throw new IllegalArgumentException("cannot read image " + file + ": not a PNG, JPEG, BMP or GIF file");
        return toRgb(img);
    }

    /**
     * The image encoded in {@code data} (any format {@link #read(Path)} reads); {@code name} names it in errors.
     * @throws IllegalArgumentException naming it when the bytes are not a readable image
     */
    public static RgbImage read(byte[] data, String name) {
        BufferedImage img;
        try {
            img = ImageIO.read(new java.io.ByteArrayInputStream(data));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot read image " + name + ": " + e.getMessage(), e);
        }
        if (img == null) throw new IllegalArgumentException("cannot read image " + name + ": not a PNG, JPEG, BMP or GIF file");
        return toRgb(img);
    }

    static RgbImage toRgb(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight();
        byte[] rgb = new byte[3 * w * h];
        Raster r = img.getRaster();
        int bands = r.getNumBands();
        boolean direct = img.getColorModel() instanceof java.awt.image.ComponentColorModel;
        int bits = img.getColorModel().getComponentSize(0);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = 3 * (y * w + x);
                if (direct) {
                    // 1–2 bands: grey (+ alpha); 3–4 bands: RGB (+ alpha)
                    for (int c = 0; c < 3; c++) {
                        int v = r.getSample(x, y, bands < 3 ? 0 : c);
                        rgb[o + c] = (byte) (bits > 8 ? v >>> (bits - 8) : bits < 8 ? v * 255 / ((1 << bits) - 1) : v);
                    }
                } else {
                    int p = img.getRGB(x, y);
                    rgb[o] = (byte) (p >>> 16);
                    rgb[o + 1] = (byte) (p >>> 8);
                    rgb[o + 2] = (byte) p;
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }
}
