package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The golden README's "referenced cases": the files of a {@code base} folder must have the SHA-256 the case names. */
final class BaseDigests {
    private BaseDigests() {}

    /** null when every listed file matches, else what is wrong. */
    static String check(Path dir, JsonNode sha) {
        for (var it = sha.fields(); it.hasNext(); ) {
            var e = it.next();
            Path p = dir.resolve(e.getKey());
            if (!Files.isRegularFile(p)) return "base file " + p + " is missing";
            if (!sha256(p).equals(e.getValue().asText())) return "base file " + p + " does not have the sha256 the case names";
        }
        return null;
    }

    static String sha256(Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
            return HexFormat.of().formatHex(d.digest());
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new IllegalStateException(p + ": cannot hash: " + e.getMessage(), e);
        }
    }
}
