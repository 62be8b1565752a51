package io.sdj.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The bearer token every API request must carry ({@code Authorization: Bearer KEY}). Compared in constant time: both
 * sides are hashed to SHA-256 first, so neither the key's length nor the position of the first differing byte shows
 * in the time taken ({@link MessageDigest#isEqual} looks at every byte).
 */
final class ApiKey {
    private final byte[] expected;

    ApiKey(String key) {
        expected = sha256(key);
    }

    /** Whether an {@code Authorization} header value carries the key. */
    boolean accepts(String authorization) {
        if (authorization == null) return false;
        String h = authorization.strip();
        if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) return false;
        return MessageDigest.isEqual(expected, sha256(h.substring(7).strip()));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
