package io.sdj.models.pipeline;

import org.junit.jupiter.api.Test;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** PNGs written by {@link PngWriter} decode with javax.imageio, pixel for pixel, with their text chunks. */
class PngWriterTest {

    private static RgbImage random(int w, int h, long seed) {
        byte[] px = new byte[3 * w * h];
        new Random(seed).nextBytes(px);
        return new RgbImage(w, h, px);
    }

    @Test
    void decodesPixelForPixelWithTheParametersChunk() throws IOException {
        for (int[] size : new int[][]{{1, 1}, {3, 17}, {77, 5}, {64, 64}}) {
            RgbImage img = random(size[0], size[1], size[0] * 31L + size[1]);
            String params = "a cat\nNegative prompt: blurry\nSteps: 8, Sampler: DDIM, CFG scale: 7.5, Seed: 51, Size: "
                    + size[0] + "x" + size[1] + ", Model: tiny";
            byte[] png = PngWriter.encode(img, params);
            Map<String, String> text = new HashMap<>();
            BufferedImage read = read(png, text);
            assertThat(read.getWidth()).isEqualTo(size[0]);
            assertThat(read.getHeight()).isEqualTo(size[1]);
            for (int y = 0; y < size[1]; y++) {
                for (int x = 0; x < size[0]; x++) assertThat(read.getRGB(x, y) & 0xFFFFFF).isEqualTo(img.pixel(x, y));
            }
            assertThat(text).containsEntry("parameters", params);
        }
    }

    @Test
    void nonLatinTextGoesIntoAnInternationalChunk() throws IOException {
        String params = "東京タワー 🚀\nSteps: 1, Sampler: Euler, CFG scale: 1, Seed: 1, Size: 8x8, Model: m";
        Map<String, String> text = new HashMap<>();
        read(PngWriter.encode(random(8, 8, 1), params), text);
        assertThat(text).containsEntry("parameters", params);
    }

    /** Reads with javax.imageio, collecting tEXt and iTXt entries from the native metadata tree. */
    private static BufferedImage read(byte[] png, Map<String, String> text) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
            reader.setInput(in);
            BufferedImage img = reader.read(0);
            IIOMetadata meta = reader.getImageMetadata(0);
            Node root = meta.getAsTree("javax_imageio_png_1.0");
            for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n.getNodeName().equals("tEXt") || n.getNodeName().equals("iTXt")) {
                    for (Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                        NamedNodeMap a = e.getAttributes();
                        String key = a.getNamedItem("keyword").getNodeValue();
                        Node v = a.getNamedItem(n.getNodeName().equals("tEXt") ? "value" : "text");
                        text.put(key, v.getNodeValue());
                    }
                }
            }
            reader.dispose();
            return img;
        }
    }
}
