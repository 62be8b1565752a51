package io.sdj.models.pipeline;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Writes 8-bit RGB PNG files with text metadata. A value that Latin-1 can hold goes into a {@code tEXt} chunk
 * (what readers of A1111's "parameters" expect); any other value goes into an uncompressed UTF-8 {@code iTXt} chunk.
 * Rows use the "Sub" filter, the image data is zlib-compressed in one {@code IDAT} chunk.
 */
public final class PngWriter {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private PngWriter() {}

    /** The PNG bytes of {@code image} with text entries keyword → value (keywords: 1–79 Latin-1 characters). */
    public static byte[] encode(RgbImage image, Map<String, String> text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(image.width() * image.height() + 1024);
        try {
            write(out, image, text);
        } catch (IOException e) {
            throw new IllegalStateException("in-memory PNG write failed", e);
        }
        return out.toByteArray();
    }

    /** Same as {@link #encode} with the single entry "parameters". */
    public static byte[] encode(RgbImage image, String parameters) {
        Map<String, String> m = new LinkedHashMap<>();
        if (parameters != null) m.put("parameters", parameters);
        return encode(image, m);
    }

    public static void write(OutputStream out, RgbImage image, Map<String, String> text) throws IOException {
        out.write(SIGNATURE);
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream(13);
        writeInt(ihdr, image.width());
        writeInt(ihdr, image.height());
        ihdr.write(8);   // bit depth
        ihdr.write(2);   // colour type: truecolour RGB
        ihdr.write(0);   // deflate
        ihdr.write(0);   // adaptive filtering
        ihdr.write(0);   // no interlace
        chunk(out, "IHDR", ihdr.toByteArray());
        for (Map.Entry<String, String> e : text.entrySet()) textChunk(out, e.getKey(), e.getValue());
        chunk(out, "IDAT", compress(image));
        chunk(out, "IEND", new byte[0]);
    }

    private static byte[] compress(RgbImage image) throws IOException {
        byte[] rgb = image.rgb();
        int stride = 3 * image.width();
        ByteArrayOutputStream z = new ByteArrayOutputStream(rgb.length / 2 + 64);
        Deflater deflater = new Deflater(6);
        try (DeflaterOutputStream d = new DeflaterOutputStream(z, deflater, 1 << 16)) {
            byte[] row = new byte[stride + 1];
            row[0] = 1;   // filter: Sub
            for (int y = 0; y < image.height(); y++) {
                int o = y * stride;
                for (int i = 0; i < stride; i++) {
                    int left = i >= 3 ? rgb[o + i - 3] : 0;
                    row[i + 1] = (byte) (rgb[o + i] - left);
                }
                d.write(row);
            }
        } finally {
            deflater.end();
        }
        return z.toByteArray();
    }

    private static void textChunk(OutputStream out, String keyword, String value) throws IOException {
        if (keyword.isEmpty() || keyword.length() > 79 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(keyword)) {
            throw new IllegalArgumentException("PNG text keyword must be 1-79 Latin-1 characters: '" + keyword + "'");
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream(keyword.length() + value.length() + 8);
        b.write(keyword.getBytes(StandardCharsets.ISO_8859_1));
        b.write(0);
        if (StandardCharsets.ISO_8859_1.newEncoder().canEncode(value) && value.indexOf('\0') < 0) {
            b.write(value.getBytes(StandardCharsets.ISO_8859_1));
            chunk(out, "tEXt", b.toByteArray());
        } else {
            b.write(0);  // not compressed
            b.write(0);  // compression method
            b.write(0);  // empty language tag
            b.write(0);  // empty translated keyword
            b.write(value.replace("\0", "").getBytes(StandardCharsets.UTF_8));
            chunk(out, "iTXt", b.toByteArray());
        }
    }

    private static void chunk(OutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        writeInt(out, data.length);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        writeInt(out, (int) crc.getValue());
    }

    private static void writeInt(OutputStream out, int v) throws IOException {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }
}
