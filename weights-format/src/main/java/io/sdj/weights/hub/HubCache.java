package io.sdj.weights.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The cache layout of {@code huggingface_hub}, shared with it: under the cache folder one
 * {@code models--org--name} folder per repository holding {@code blobs/<etag>} (the file contents, named by the
 * normalised ETag: the sha256 of an LFS file, the git blob id otherwise), {@code snapshots/<commit>/<path>} (relative
 * symbolic links to the blobs, or the files themselves where links are not supported) and {@code refs/<revision>}
 * (the commit a branch or tag pointed to, no newline). A download in progress is {@code blobs/<etag>.incomplete};
 * {@code .locks/models--org--name/<etag>.lock} keeps two sdj processes from writing the same blob.
 */
public final class HubCache {
    static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private final Path root;

    public HubCache(Path root) { this.root = root; }

    public Path root() { return root; }

    /** {@code models--org--name}. */
    public static String folderName(String repo) { return "models--" + repo.replace("/", "--"); }

    public Path repoFolder(String repo) { return root.resolve(folderName(repo)); }

    public Path blob(String repo, String etag) { return repoFolder(repo).resolve("blobs").resolve(etag); }

    public Path incomplete(String repo, String etag) { return repoFolder(repo).resolve("blobs").resolve(etag + ".incomplete"); }

    public Path lock(String repo, String etag) { return root.resolve(".locks").resolve(folderName(repo)).resolve(etag + ".lock"); }

    public Path snapshot(String repo, String commit) { return repoFolder(repo).resolve("snapshots").resolve(commit); }

    public Path pointer(String repo, String commit, String file) { return snapshot(repo, commit).resolve(file); }

    public static boolean isCommit(String revision) { return COMMIT.matcher(revision).matches(); }

    /** The commit {@code revision} names in the cache: itself when it is a commit hash, else {@code refs/<revision>}; null when unknown. */
    public String commitOf(String repo, String revision) {
        if (isCommit(revision)) return revision;
        Path ref = repoFolder(repo).resolve("refs").resolve(revision);
        if (!Files.isRegularFile(ref)) return null;
        try {
            String c = Files.readString(ref, StandardCharsets.UTF_8).strip();
            return isCommit(c) ? c : null;
        } catch (IOException e) {
            throw new HubException("cannot read " + ref + ": " + e.getMessage(), e);
        }
    }

    /** Records that {@code revision} points at {@code commit} (nothing for a commit hash; unchanged refs are not rewritten). */
    public void writeRef(String repo, String revision, String commit) {
        if (revision.equals(commit)) return;
        Path ref = repoFolder(repo).resolve("refs").resolve(revision);
        try {
            if (Files.isRegularFile(ref) && Files.readString(ref, StandardCharsets.UTF_8).equals(commit)) return;
            Files.createDirectories(ref.getParent());
            Path tmp = ref.resolveSibling(ref.getFileName() + ".tmp" + ProcessHandle.current().pid());
            Files.writeString(tmp, commit, StandardCharsets.UTF_8);
            Files.move(tmp, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new HubException("cannot write " + ref + ": " + e.getMessage(), e);
        }
    }

    /** The files of a cached snapshot, as repository paths with '/' (links followed), sorted; empty when absent. */
    public List<String> snapshotFiles(String repo, String commit) {
        Path snap = snapshot(repo, commit);
        if (!Files.isDirectory(snap)) return List.of();
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(snap)) {
            s.filter(Files::isRegularFile).forEach(p -> out.add(snap.relativize(p).toString().replace(java.io.File.separatorChar, '/')));
        } catch (IOException e) {
            throw new HubException("cannot list " + snap + ": " + e.getMessage(), e);
        }
        out.sort(null);
        return out;
    }

    /**
     * Makes {@code snapshots/<commit>/<file>} point at the blob: a relative symbolic link as {@code huggingface_hub}
     * makes it; where links are not supported, a new blob is moved there and a blob other snapshots may share is copied.
     */
    public Path link(String repo, String commit, String file, String etag, boolean newBlob) {
        Path blob = blob(repo, etag);
        Path pointer = pointer(repo, commit, file);
        try {
            Files.createDirectories(pointer.getParent());
            Files.deleteIfExists(pointer);
            Path target = pointer.getParent().relativize(blob);
            try {
                Files.createSymbolicLink(pointer, target);
            } catch (UnsupportedOperationException | FileSystemException e) {
                if (newBlob) Files.move(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
                else Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
            }
            return pointer;
        } catch (IOException e) {
            throw new HubException("cannot link " + pointer + " to " + blob + ": " + e.getMessage(), e);
        }
    }
}
