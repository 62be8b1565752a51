package io.sdj.server;

import io.sdj.models.pipeline.PngReader;
import io.sdj.models.pipeline.RgbImage;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;

/** An image sent in a request (base64 PNG/JPEG): its size is checked against the limits before it is decoded. */
final class UploadedImage {
    private UploadedImage() {}

    static RgbImage decode(String field, String base64, Limits limits) {
        byte[] data = JsonFields.base64(field, base64);
        int w, h;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(data))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) throw ApiException.badField(field, "not a PNG, JPEG, BMP or GIF image");
            ImageReader r = readers.next();
            try {
                r.setInput(in);
                w = r.getWidth(0);
                h = r.getHeight(0);
            } finally {
                r.dispose();
            }
        } catch (IOException e) {
            throw ApiException.badField(field, "cannot read the image: " + e.getMessage());
        }
        limits.checkSize(field, w, h);
        try {
            return PngReader.read(data, field);
        } catch (IllegalArgumentException e) {
            throw ApiException.badField(field, e.getMessage());
        }
    }
}
