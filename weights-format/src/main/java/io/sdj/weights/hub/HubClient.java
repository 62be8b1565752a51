package io.sdj.weights.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hub's HTTP protocol as {@code huggingface_hub} speaks it. A file's metadata comes from
 * {@code HEAD {endpoint}/{repo}/resolve/{revision}/{path}} ({@code X-Repo-Commit}, {@code X-Linked-Etag} or
 * {@code ETag}, {@code X-Linked-Size} or {@code Content-Length}; a redirect to the same host is followed, one to
 * another host is where the bytes are fetched). The bytes go to {@code blobs/<etag>.incomplete}, continued with a
 * {@code Range} request when that file exists; the {@code Authorization} header is only ever sent to the endpoint's
 * own host, so it is dropped on a redirect elsewhere. An LFS file (its etag a sha256) is hashed while it streams and
 * becomes {@code blobs/<etag>} only when hash and size match; a mismatch deletes the partial file. An interrupted or
 * cancelled download keeps its {@code .incomplete} file for the next attempt; no blob is ever written partially.
 */
public final class HubClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final int MAX_REDIRECTS = 10;
    private static final String USER_AGENT = "sdj/0.1.0; java/" + Runtime.version().feature();

    private final HubEnvironment env;
    private final HubCache cache;
    private final HttpClient http;

    public HubClient(HubEnvironment env) {
        this.env = env;
        this.cache = new HubCache(env.cacheDir());
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    public HubEnvironment environment() { return env; }

    public HubCache cache() { return cache; }

    /** What a HEAD on a file's resolve URL says: its commit, etag, size, whether it is an LFS file, and where to GET it. */
    public record FileMetadata(String commit, String etag, long size, boolean lfs, URI location) {}

    // ---------------------------------------------------------------------------------------------------------------

    /** {@code {endpoint}/{repo}/resolve/{revision}/{path}}, revision and path percent-encoded as {@code huggingface_hub} does. */
    public URI resolveUrl(String repo, String revision, String file) {
        return URI.create(env.endpoint() + "/" + repo + "/resolve/" + encode(revision) + "/" + encodePath(file));
    }

    public FileMetadata metadata(String repo, String revision, String file) {
        requireOnline(repo + "@" + revision + ": " + file);
        URI url = resolveUrl(repo, revision, file);
        HttpResponse<Void> r = null;
        for (int hops = 0; hops <= MAX_REDIRECTS; hops++) {
            HttpRequest.Builder b = request(url).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .header("Accept-Encoding", "identity");
            r = send(b.build(), HttpResponse.BodyHandlers.discarding(), url);
            int code = r.statusCode();
            if (code >= 300 && code < 400) {
                String loc = r.headers().firstValue("Location").orElse(null);
                if (loc == null) throw new HubException(url + ": HTTP " + code + " redirect without a Location header");
                URI target = url.resolve(loc);
                if (URI.create(loc).getHost() == null) {   // relative: a renamed repository on the same host
                    url = target;
                    continue;
                }
                return metadataFrom(r, repo, revision, file, target);
            }
            checkStatus(r, repo, revision, file);
            return metadataFrom(r, repo, revision, file, url);
        }
        throw new HubException(url + ": more than " + MAX_REDIRECTS + " redirects");
    }

    private static FileMetadata metadataFrom(HttpResponse<?> r, String repo, String revision, String file, URI location) {
        HttpHeaders h = r.headers();
        String commit = h.firstValue("X-Repo-Commit").orElse(null);
        if (commit == null) {
            throw new HubException(repo + "@" + revision + ": " + file + ": the server sent no X-Repo-Commit header (is HF_ENDPOINT a hub?)");
        }
        String linked = h.firstValue("X-Linked-Etag").orElse(null);
        String etag = normalizeEtag(linked != null ? linked : h.firstValue("ETag").orElse(null));
        if (etag == null || etag.isEmpty() || etag.contains("/") || etag.contains("\\") || etag.startsWith(".")) {
            throw new HubException(repo + "@" + revision + ": " + file + ": the server sent no usable ETag");
        }
        // a redirect's own Content-Length is not the file's: without X-Linked-Size the size is unknown
        boolean redirect = r.statusCode() >= 300 && r.statusCode() < 400;
        long size = parseLong(h.firstValue("X-Linked-Size").orElse(redirect ? null : h.firstValue("Content-Length").orElse(null)));
        boolean lfs = linked != null && SHA256.matcher(etag).matches();
        return new FileMetadata(commit, etag, size, lfs, location);
    }

    /** Strips a weak-validator prefix {@code W/} and the quotes, as {@code huggingface_hub} does. */
    static String normalizeEtag(String etag) {
        if (etag == null) return null;
        String e = etag.strip();
        if (e.startsWith("W/")) e = e.substring(2);
        while (e.startsWith("\"")) e = e.substring(1);
        while (e.endsWith("\"")) e = e.substring(0, e.length() - 1);
        return e;
    }

    /** The repository's files at {@code revision} and the commit it resolves to. */
    public RepoListing listing(String repo, String revision) {
        requireOnline(repo + "@" + revision);
        URI url = URI.create(env.endpoint() + "/api/models/" + repo + "/revision/" + encode(revision) + "?blobs=true");
        HttpResponse<String> r = null;
        for (int hops = 0; hops <= MAX_REDIRECTS; hops++) {
            r = send(request(url).GET().build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8), url);
            if (r.statusCode() >= 300 && r.statusCode() < 400 && r.headers().firstValue("Location").isPresent()) {
                url = url.resolve(r.headers().firstValue("Location").get());
                continue;
            }
            break;
        }
        checkStatus(r, repo, revision, null);
        JsonNode root;
        try {
            root = JSON.readTree(r.body());
        } catch (IOException e) {
            throw new HubException(url + ": the revision listing is not JSON: " + e.getMessage(), e);
        }
        String sha = root.path("sha").asText(null);
        if (sha == null || !HubCache.isCommit(sha)) throw new HubException(url + ": the revision listing has no commit hash ('sha')");
        List<RepoListing.RepoFile> files = new ArrayList<>();
        for (JsonNode s : root.path("siblings")) {
            String path = s.path("rfilename").asText(null);
            if (path == null) continue;
            JsonNode lfs = s.path("lfs");
            long size = lfs.has("size") ? lfs.get("size").asLong() : s.has("size") ? s.get("size").asLong() : -1;
            files.add(new RepoListing.RepoFile(path, size, lfs.hasNonNull("sha256") ? lfs.get("sha256").asText() : null));
        }
        return new RepoListing(repo, sha, List.copyOf(files));
    }

    // ---------------------------------------------------------------------------------------------------------------

    /**
     * {@code file} of {@code repo} at {@code revision} in the cache, downloaded when absent: the path of its
     * {@code snapshots/<commit>/<file>} entry. Offline, only the cache is looked at.
     */
    public Path download(String repo, String revision, String file, DownloadProgress progress, BooleanSupplier cancelled) {
        if (HubCache.isCommit(revision)) {
            Path pointer = cache.pointer(repo, revision, file);
            if (Files.isRegularFile(pointer)) {
                progress.finished(file, size(pointer), true);
                return pointer;
            }
        }
        if (env.offline()) {
            String commit = cache.commitOf(repo, revision);
            Path pointer = commit == null ? null : cache.pointer(repo, commit, file);
            if (pointer != null && Files.isRegularFile(pointer)) {
                progress.finished(file, size(pointer), true);
                return pointer;
            }
            throw new HubException(repo + "@" + revision + ": " + file + " is not in the cache " + cache.root()
                    + " and offline mode (--offline / HF_HUB_OFFLINE) forbids downloading it");
        }
        FileMetadata meta = metadata(repo, revision, file);
        cache.writeRef(repo, revision, meta.commit());
        Path pointer = cache.pointer(repo, meta.commit(), file);
        if (Files.isRegularFile(pointer)) {
            progress.finished(file, size(pointer), true);
            return pointer;
        }
        Path blob = cache.blob(repo, meta.etag());
        if (Files.isRegularFile(blob)) {
            progress.finished(file, size(blob), true);
            return cache.link(repo, meta.commit(), file, meta.etag(), false);
        }
        Path lockFile = cache.lock(repo, meta.etag());
        try {
            Files.createDirectories(lockFile.getParent());
            Files.createDirectories(blob.getParent());
            try (FileChannel lc = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = lc.lock()) {
                if (!Files.isRegularFile(blob)) fetch(repo, file, meta, blob, progress, cancelled);
                else progress.finished(file, size(blob), true);
                return cache.link(repo, meta.commit(), file, meta.etag(), true);
            } finally {
                Files.deleteIfExists(lockFile);
            }
        } catch (IOException e) {
            throw new HubException("cannot write to the cache " + cache.root() + ": " + e.getMessage(), e);
        }
    }

    /** Streams the file into {@code <blob>.incomplete} (continuing it), checks size and sha256, then renames it. */
    private void fetch(String repo, String file, FileMetadata meta, Path blob, DownloadProgress progress, BooleanSupplier cancelled)
            throws IOException {
        Path part = cache.incomplete(repo, meta.etag());
        long total = meta.size();
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        if (total >= 0 && have > total) {
            Files.delete(part);
            have = 0;
        }
        MessageDigest sha = sha256();
        if (have > 0) hashPrefix(part, have, sha);
        progress.started(file, total, have);
        if (total < 0 || have < total) {
            HttpResponse<InputStream> r = get(meta.location(), have, repo, file);
            int code = r.statusCode();
            try (InputStream body = r.body()) {
                if (code == 416 && have > 0) {
                    // the server has nothing past what we hold: either complete (checked below) or a stale part
                    if (total >= 0 && have != total) {
                        Files.delete(part);
                        throw new HubException(repo + ": " + file + ": the server refused to resume at byte " + have + "; run again to download it afresh");
                    }
                } else {
                    if (code == 200 && have > 0) {           // range ignored: the whole file comes again
                        have = 0;
                        sha = sha256();
                    } else if (code == 206) {
                        long start = r.headers().firstValue("Content-Range").map(HubClient::rangeStart).orElse(-1L);
                        if (start != have) {
                            throw new HubException(repo + ": " + file + ": asked to resume at byte " + have
                                    + " but the server answered " + r.headers().firstValue("Content-Range").orElse("no Content-Range"));
                        }
                    } else if (code != 200) {
                        checkStatus(r, repo, null, file);
                        throw new HubException(repo + ": " + file + ": unexpected HTTP " + code + " from " + r.uri());
                    }
                    have = stream(body, part, have, total, sha, file, progress, cancelled);
                }
            } catch (IOException e) {
                long got = Files.isRegularFile(part) ? Files.size(part) : 0;
                throw new HubException(repo + ": " + file + ": download interrupted after " + got
                        + (total >= 0 ? " of " + total : "") + " bytes (" + describe(e) + "); run the same command again to resume", e);
            }
        }
        if (total >= 0 && have != total) {
            if (have < total) {
                throw new HubException(repo + ": " + file + ": the connection ended after " + have + " of " + total
                        + " bytes; run the same command again to resume");
            }
            Files.deleteIfExists(part);
            throw new HubException(repo + ": " + file + ": received " + have + " bytes but the hub announced " + total + "; the download was discarded");
        }
        if (meta.lfs()) {
            String got = HexFormat.of().formatHex(sha.digest());
            if (!got.equals(meta.etag())) {
                Files.deleteIfExists(part);
                throw new HubException(repo + ": " + file + ": sha256 mismatch: expected " + meta.etag() + ", got " + got
                        + "; the download was discarded, nothing was cached");
            }
        }
        Files.move(part, blob, StandardCopyOption.ATOMIC_MOVE);
        progress.finished(file, have, false);
    }

    private static long stream(InputStream body, Path part, long have, long total, MessageDigest sha, String file,
                               DownloadProgress progress, BooleanSupplier cancelled) throws IOException {
        StandardOpenOption mode = have == 0 ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND;
        byte[] buf = new byte[1 << 16];
        try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode)) {
            int n;
            while ((n = body.read(buf)) >= 0) {
                if (cancelled.getAsBoolean()) {
                    throw new CancellationException("download of " + file + " cancelled after " + have + " bytes; "
                            + part + " is kept and the next run resumes it");
                }
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) out.write(bb);
                sha.update(buf, 0, n);
                have += n;
                if (total >= 0 && have > total) break;   // more than announced: refused by the caller
                progress.advanced(file, have, total);
            }
        }
        return have;
    }

    private HttpResponse<InputStream> get(URI url, long from, String repo, String file) {
        for (int hops = 0; hops <= MAX_REDIRECTS; hops++) {
            HttpRequest.Builder b = request(url).GET().header("Accept-Encoding", "identity");
            if (from > 0) b.header("Range", "bytes=" + from + "-");
            HttpResponse<InputStream> r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream(), url);
            int code = r.statusCode();
            if (code >= 300 && code < 400 && r.headers().firstValue("Location").isPresent()) {
                try {
                    r.body().close();
                } catch (IOException ignored) {
                    // the redirect's body is not needed
                }
                url = url.resolve(r.headers().firstValue("Location").get());
                continue;
            }
            return r;
        }
        throw new HubException(repo + ": " + file + ": more than " + MAX_REDIRECTS + " redirects");
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** A request with the user agent and, only for the endpoint's own scheme, host and port, the token. */
    private HttpRequest.Builder request(URI url) {
        HttpRequest.Builder b = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(30)).header("User-Agent", USER_AGENT);
        if (env.token() != null && sameOrigin(url, env.endpoint())) b.header("Authorization", "Bearer " + env.token());
        return b;
    }

    static boolean sameOrigin(URI a, URI b) {
        return Objects.equals(a.getScheme(), b.getScheme()) && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equals(u.getScheme()) ? 443 : 80;
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler, URI url) {
        try {
            return http.send(req, handler);
        } catch (HttpConnectTimeoutException | ConnectException e) {
            throw new HubException("cannot reach " + env.endpoint() + " (" + describe(e) + "); models already in the cache "
                    + cache.root() + " work with --offline", e);
        } catch (HttpTimeoutException e) {
            throw new HubException(url + ": no answer within 30 s", e);
        } catch (IOException e) {
            throw new HubException(url + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while talking to " + url);
        }
    }

    /** One clear line for an HTTP error, from the status and the hub's {@code X-Error-Code} / {@code X-Error-Message}. */
    private void checkStatus(HttpResponse<?> r, String repo, String revision, String file) {
        int code = r.statusCode();
        if (code >= 200 && code < 300) return;
        String errorCode = r.headers().firstValue("X-Error-Code").orElse("");
        String message = r.headers().firstValue("X-Error-Message").orElse("");
        String what = repo + (revision == null ? "" : "@" + revision) + (file == null ? "" : ": " + file);
        String detail = message.isEmpty() ? "" : " (" + message + ")";
        throw switch (code) {
            case 401 -> new HubException(what + ": HTTP 401 Unauthorized: the repository does not exist or is private/gated"
                    + (env.token() == null ? "; check the id, or set HF_TOKEN (or log in with `huggingface-cli login`) for a private or gated one"
                    : "; the token in use (HF_TOKEN or " + "the token file under HF_HOME) was refused or has no access to it") + detail);
            case 403 -> new HubException(what + ": HTTP 403 Forbidden: access is restricted; accept the model's conditions on its hub page "
                    + "and use a token that has access" + detail);
            case 404 -> new HubException(what + ": " + switch (errorCode) {
                case "EntryNotFound" -> "no such file in the repository";
                case "RevisionNotFound" -> "no such revision (branch, tag or commit)";
                case "RepoNotFound" -> "no such repository";
                default -> "not found";
            } + " (HTTP 404 from " + r.uri().getHost() + ")" + detail);
            default -> new HubException(what + ": HTTP " + code + " from " + r.uri() + detail);
        };
    }

    private void requireOnline(String what) {
        if (env.offline()) {
            throw new HubException(what + ": offline mode (--offline / HF_HUB_OFFLINE) forbids contacting " + env.endpoint());
        }
    }

    static String encode(String s) { return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20"); }

    static String encodePath(String path) {
        StringBuilder b = new StringBuilder();
        for (String seg : path.split("/", -1)) {
            if (!b.isEmpty()) b.append('/');
            b.append(encode(seg));
        }
        return b.toString();
    }

    private static long rangeStart(String contentRange) {
        Matcher m = CONTENT_RANGE.matcher(contentRange.strip());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static long parseLong(String s) {
        if (s == null) return -1;
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    private static void hashPrefix(Path part, long length, MessageDigest sha) throws IOException {
        try (InputStream in = Files.newInputStream(part)) {
            byte[] buf = new byte[1 << 16];
            long left = length;
            int n;
            while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
                sha.update(buf, 0, n);
                left -= n;
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.toLowerCase(Locale.ROOT).startsWith(e.getClass().getSimpleName().toLowerCase(Locale.ROOT)) ? m : e.getClass().getSimpleName() + ": " + m;
    }
}
