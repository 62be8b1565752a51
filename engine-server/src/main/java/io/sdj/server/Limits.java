package io.sdj.server;

/**
 * What one request may ask for. Bodies above {@code maxBodyBytes} and images (requested or uploaded) with a side above
 * {@code maxSide} or more than {@code maxPixels} pixels are refused with 413; more than {@code maxSteps} steps or
 * {@code maxImages} images in one request with 400.
 */
public record Limits(long maxBodyBytes, int maxSide, long maxPixels, int maxSteps, int maxImages) {
    /** 32 MiB bodies (a few base64 photos), 2048 px sides, 1024×1024 pixels, 150 steps (A1111's slider), 10 images (OpenAI's n). */
    public static final Limits DEFAULT = new Limits(32L << 20, 2048, 1024L * 1024, 150, 10);

    public Limits {
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("the body limit must be at least 1024 bytes, got " + maxBodyBytes);
        if (maxSide < 8) throw new IllegalArgumentException("the largest image side must be at least 8, got " + maxSide);
        if (maxPixels < 64) throw new IllegalArgumentException("the pixel limit must be at least 64, got " + maxPixels);
        if (maxSteps < 1) throw new IllegalArgumentException("the step limit must be at least 1, got " + maxSteps);
        if (maxImages < 1) throw new IllegalArgumentException("the image limit must be at least 1, got " + maxImages);
    }

    /** Throws 413 naming {@code field} when a {@code width}×{@code height} image exceeds the limits. */
    void checkSize(String field, int width, int height) {
        if (width > maxSide || height > maxSide || (long) width * height > maxPixels) {
            throw new ApiException(413, field + ": " + width + "x" + height + " is larger than this server allows (sides up to "
                    + maxSide + ", at most " + maxPixels + " pixels)", field);
        }
    }
}
