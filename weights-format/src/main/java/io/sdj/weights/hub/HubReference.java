package io.sdj.weights.hub;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model named by its hub id: {@code org/name}, optionally {@code @revision} (branch, tag or commit), optionally a
 * file inside it ({@code org/name/path/file.safetensors} or {@code org/name@rev/path/file.safetensors}).
 *
 * @param file null for the whole repository
 */
public record HubReference(String repo, String revision, String file) {
    public static final String DEFAULT_REVISION = "main";
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._-]+");

    /** The reference {@code text} spells, or empty when it is not of the form above. */
    public static Optional<HubReference> parse(String text) {
        if (text == null || text.isEmpty() || text.startsWith("/") || text.startsWith(".") || text.contains("\\")
                || text.contains("//") || text.endsWith("/")) {
            return Optional.empty();
        }
        String[] parts = text.split("/", 3);
        if (parts.length < 2) return Optional.empty();
        String org = parts[0], name = parts[1], revision = DEFAULT_REVISION;
        int at = name.indexOf('@');
        if (at >= 0) {
            revision = name.substring(at + 1);
            name = name.substring(0, at);
            if (!REVISION.matcher(revision).matches() || revision.contains("..")) return Optional.empty();
        }
        if (!PART.matcher(org).matches() || !PART.matcher(name).matches() || name.contains("..") || org.contains("..")) return Optional.empty();
        String file = parts.length == 3 ? parts[2] : null;
        if (file != null) {
            for (String seg : file.split("/")) {
                if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) return Optional.empty();
            }
        }
        return Optional.of(new HubReference(org + "/" + name, revision, file));
    }

    public HubReference withRevision(String rev) { return new HubReference(repo, rev, file); }

    @Override
    public String toString() {
        return repo + (revision.equals(DEFAULT_REVISION) ? "" : "@" + revision) + (file == null ? "" : "/" + file);
    }
}
