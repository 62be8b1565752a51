package io.sdj.langchain4j;

import dev.langchain4j.data.image.Image;
import io.sdj.models.pipeline.PngReader;
import io.sdj.models.pipeline.RgbImage;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * The pixels of a LangChain4j {@link Image} given to an edit: its base64 data, or a {@code file:} URL. Other URLs are
 * refused (sdj does not download images).
 */
final class InputImages {
    private InputImages() {}

    static RgbImage rgb(Image image, String what) {
        return PngReader.read(bytes(image, what), "(the " + what + " to edit)");
    }

    /**
     * An inpainting mask as sdj reads masks (white = repaint). A mask with transparency is read as OpenAI reads one:
     * fully transparent pixels are repainted (white), all others kept (black).
     */
    static RgbImage mask(Image mask) {
        byte[] data = bytes(mask, "mask");
        BufferedImage img;
        try {
            img = ImageIO.read(new ByteArrayInputStream(data));
        } catch (IOException | RuntimeException e) {
            img = null;
        }
        if (img == null || !img.getColorModel().hasAlpha()) return PngReader.read(data, "(the mask)");
        int w = img.getWidth(), h = img.getHeight();
        byte[] rgb = new byte[3 * w * h];
        boolean transparent = false;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (img.getRGB(x, y) >>> 24 == 0) {
                    int o = 3 * (y * w + x);
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) 255;
                    transparent = true;
                }
            }
        }
        return transparent ? new RgbImage(w, h, rgb) : PngReader.read(data, "(the mask)");
    }

    private static byte[] bytes(Image image, String what) {
        if (image == null) throw new IllegalArgumentException("no " + what + " given");
        if (image.base64Data() != null) {
            try {
                return Base64.getMimeDecoder().decode(image.base64Data());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the " + what + "'s base64 data is not valid base64: " + e.getMessage(), e);
            }
        }
        if (image.url() != null) {
            if (!"file".equalsIgnoreCase(image.url().getScheme())) {
                throw new IllegalArgumentException("the " + what + " is a URL (" + image.url() + "): give its base64 data or a file: URL; sdj does not download images");
            }
            Path p = Path.of(image.url());
            try {
                return Files.readAllBytes(p);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the " + what + " " + p + ": " + e.getMessage(), e);
            }
        }
        throw new IllegalArgumentException("the " + what + " has neither base64 data nor a URL");
    }
}
