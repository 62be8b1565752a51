package io.sdj.weights.hub;

import java.util.List;

/**
 * A repository at one commit, as {@code /api/models/{repo}/revision/{rev}?blobs=true} lists it.
 *
 * @param commit the commit hash the revision resolved to
 */
public record RepoListing(String repo, String commit, List<RepoFile> files) {
    /** One file: its path, size (-1 when not listed) and, for an LFS file, its sha256 (else null). */
    public record RepoFile(String path, long size, String lfsSha256) {}

    public List<String> paths() { return files.stream().map(RepoFile::path).toList(); }

    public long size(String path) {
        for (RepoFile f : files) if (f.path().equals(path)) return f.size();
        return -1;
    }
}
