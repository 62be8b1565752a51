package io.sdj.models.pipeline;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Real PNG files of each colour type read back as PIL's convert("RGB") sees them. */
class PngReaderTest {
    @TempDir
    Path tmp;

    @Test
    void rgbRoundTripsThroughOurWriter() {
        byte[] rgb = new byte[3 * 5 * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 17);
        Path p = tmp.resolve("a.png");
        write(p, PngWriter.encode(new RgbImage(5, 3, rgb), Map.of()));
        RgbImage back = PngReader.read(p);
        assertThat(back.width()).isEqualTo(5);
        assertThat(back.rgb()).isEqualTo(rgb);
    }

    @Test
    void greyKeepsItsValuesAndAlphaIsDropped() throws IOException {
        BufferedImage g = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_GRAY);
        g.getRaster().setSample(1, 0, 0, 100);
        g.getRaster().setSample(2, 1, 0, 255);
        Path gp = tmp.resolve("g.png");
        ImageIO.write(g, "png", gp.toFile());
        RgbImage gr = PngReader.read(gp);
        assertThat(gr.pixel(1, 0)).isEqualTo(100 << 16 | 100 << 8 | 100);   // no gamma conversion
        assertThat(gr.pixel(2, 1)).isEqualTo(0xFFFFFF);
        assertThat(gr.pixel(0, 0)).isZero();

        BufferedImage a = new BufferedImage(2, 2, BufferedImage.TYPE_4BYTE_ABGR);
        a.getRaster().setPixel(0, 0, new int[] {10, 20, 30, 0});   // fully transparent: colour kept, as PIL's convert("RGB")
        Path ap = tmp.resolve("a.png");
        ImageIO.write(a, "png", ap.toFile());
        assertThat(PngReader.read(ap).pixel(0, 0)).isEqualTo(10 << 16 | 20 << 8 | 30);
    }

    @Test
    void bytesReadAsTheFileWould() throws IOException {
        byte[] rgb = new byte[3 * 7 * 2];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 29 + 3);
        byte[] png = PngWriter.encode(new RgbImage(7, 2, rgb), Map.of());
        assertThat(PngReader.read(png, "in memory").rgb()).isEqualTo(rgb);
        assertThatThrownBy(() -> PngReader.read("not an image".getBytes(), "upload 3"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("cannot read image upload 3: not a PNG, JPEG, BMP or GIF file");
    }

    @Test
    void aFileThatIsNoImageIsRefusedByName() throws IOException {
        Path p = Files.writeString(tmp.resolve("x.png"), "not an image");
        assertThatThrownBy(() -> PngReader.read(p)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("cannot read image " + p);
        assertThatThrownBy(() -> PngReader.read(tmp.resolve("none.png"))).hasMessage("image not found: " + tmp.resolve("none.png"));
    }

    private static void write(Path p, byte[] b) {
        try {
            Files.write(p, b);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
