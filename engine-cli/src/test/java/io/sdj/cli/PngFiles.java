package io.sdj.cli;

import org.w3c.dom.Node;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading the PNGs the CLI writes, as an image viewer would: javax.imageio, the A1111 "parameters" tEXt chunk. */
final class PngFiles {
    private PngFiles() {}

    /** The image's pixels as ARGB ints, row-major. */
    static int[] pixels(Path p) throws IOException {
        BufferedImage img = ImageIO.read(p.toFile());
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }

    /** Decodes with javax.imageio, checks the size and returns the "parameters" text. */
    static String readPng(Path p, int w, int h) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(p.toFile())) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("png").next();
            reader.setInput(in);
            BufferedImage img = reader.read(0);
            assertThat(img.getWidth()).isEqualTo(w);
            assertThat(img.getHeight()).isEqualTo(h);
            Node root = reader.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
            for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (!n.getNodeName().equals("tEXt")) continue;
                for (Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                    if (e.getAttributes().getNamedItem("keyword").getNodeValue().equals("parameters")) {
                        return e.getAttributes().getNamedItem("value").getNodeValue();
                    }
                }
            }
            throw new AssertionError(p + " has no parameters tEXt chunk");
        }
    }
}
