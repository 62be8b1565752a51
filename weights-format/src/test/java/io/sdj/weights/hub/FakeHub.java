package io.sdj.weights.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A hub on loopback, answering the way huggingface.co does: {@code HEAD}/{@code GET}
 * {@code /{repo}/resolve/{rev}/{path}} with {@code X-Repo-Commit} and {@code ETag} (the git blob id) for small files,
 * and for LFS files ({@code *.safetensors}, {@code .pth}, {@code .bin}, {@code .ckpt}) a 302 to a second server under another host name ({@code 127.0.0.2},
 * the "CDN") with {@code X-Linked-Etag} (the sha256) and {@code X-Linked-Size}; the CDN honours {@code Range}. Also
 * {@code /api/models/{repo}/revision/{rev}}. Errors carry {@code X-Error-Code} like the hub's: an unknown repository
 * is a 401, an unknown revision or file a 404. Every request is recorded; faults can be injected per file.
 */
public final class FakeHub implements AutoCloseable {
    /** One request as a server saw it. */
    public record Seen(String server, String method, String path, String range, String authorization) {}

    public final String repo;
    public final String commit;
    private final Map<String, byte[]> files = new TreeMap<>();
    private final HttpServer hub, cdn;
    private final String cdnHost;
    public final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
    /** Token the hub demands (null: none); a request without it gets 401. */
    public volatile String requiredToken;
    /** Path → bytes after which the CDN drops the connection (once). */
    public final Map<String, Long> dropAfter = new ConcurrentHashMap<>();
    /** A former name of the repository: requests under it get a relative 307 to the current name, as after a rename on the hub. */
    public volatile String formerName;
    /** Path → milliseconds the CDN waits before each 64 KiB it sends (a slow link). */
    public final Map<String, Integer> slow = new ConcurrentHashMap<>();
    /** Paths whose bytes the CDN serves with one byte changed. */
    public final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();

    public FakeHub(String repo, Map<String, byte[]> tree) throws IOException {
        this.repo = repo;
        this.files.putAll(tree);
        this.commit = hex(digest("SHA-1", String.join("\n", tree.keySet()).getBytes(StandardCharsets.UTF_8)));
        hub = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        HttpServer c;
        String host;
        try {
            c = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0), 0);
            host = "127.0.0.2";
        } catch (IOException e) {   // no second loopback address: the same address under another name
            c = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
            host = "localhost";
        }
        cdn = c;
        cdnHost = host;
        hub.createContext("/", this::onHub);
        cdn.createContext("/", this::onCdn);
        hub.start();
        cdn.start();
    }

    /** The files of a folder (recursively), as repository paths. */
    public static Map<String, byte[]> tree(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) out.put(dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
        }
        return out;
    }

    public URI endpoint() { return URI.create("http://127.0.0.1:" + hub.getAddress().getPort()); }

    public String cdnHost() { return cdnHost; }

    public static boolean isLfs(String path) {
        return path.endsWith(".safetensors") || path.endsWith(".pth") || path.endsWith(".bin") || path.endsWith(".ckpt");
    }

    public String sha256(String path) { return hex(digest("SHA-256", files.get(path))); }

    /** The git blob id: sha1 of "blob {size}\0" + content. */
    public String gitBlobId(String path) {
        byte[] b = files.get(path);
        byte[] head = ("blob " + b.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + b.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(b, 0, all, head.length, b.length);
        return hex(digest("SHA-1", all));
    }

    public byte[] bytes(String path) { return files.get(path); }

    public List<Seen> seen(String server) { return seen.stream().filter(s -> s.server().equals(server)).toList(); }

    private void record(String server, HttpExchange ex) {
        seen.add(new Seen(server, ex.getRequestMethod(), ex.getRequestURI().getRawPath(), ex.getRequestHeaders().getFirst("Range"),
                ex.getRequestHeaders().getFirst("Authorization")));
    }

    private void onHub(HttpExchange ex) throws IOException {
        try (ex) {
            record("hub", ex);
            String path = ex.getRequestURI().getPath();
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (requiredToken != null && !("Bearer " + requiredToken).equals(auth)) {
                error(ex, 401, "RepoNotFound", "Invalid username or password.");
                return;
            }
            if (formerName != null && (path.startsWith("/" + formerName + "/") || path.startsWith("/api/models/" + formerName + "/"))) {
                ex.getResponseHeaders().set("Location", ex.getRequestURI().getRawPath().replaceFirst("/" + formerName + "/", "/" + repo + "/"));
                ex.sendResponseHeaders(307, -1);
                return;
            }
            if (path.startsWith("/api/models/")) {
                String rest = path.substring("/api/models/".length());
                int r = rest.indexOf("/revision/");
                if (r < 0 || !rest.substring(0, r).equals(repo)) {
                    error(ex, 401, "RepoNotFound", "Repository not found");
                    return;
                }
                String rev = rest.substring(r + "/revision/".length());
                if (!rev.equals("main") && !rev.equals(commit)) {
                    error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
                    return;
                }
                StringBuilder j = new StringBuilder("{\"id\":\"" + repo + "\",\"sha\":\"" + commit + "\",\"siblings\":[");
                boolean first = true;
                for (String f : files.keySet()) {
                    if (!first) j.append(',');
                    first = false;
                    j.append("{\"rfilename\":\"").append(f).append("\",\"size\":").append(isLfs(f) ? 134 : files.get(f).length);
                    if (isLfs(f)) j.append(",\"lfs\":{\"sha256\":\"").append(sha256(f)).append("\",\"size\":").append(files.get(f).length).append(",\"pointerSize\":134}");
                    j.append('}');
                }
                j.append("]}");
                byte[] body = j.toString().getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
                return;
            }
            String prefix = "/" + repo + "/resolve/";
            if (!path.startsWith(prefix)) {
                error(ex, 401, "RepoNotFound", "Repository not found");
                return;
            }
            String rest = path.substring(prefix.length());
            int slash = rest.indexOf('/');
            String rev = rest.substring(0, slash), file = rest.substring(slash + 1);
            if (!rev.equals("main") && !rev.equals(commit)) {
                error(ex, 404, "RevisionNotFound", "Invalid rev id: " + rev);
                return;
            }
            ex.getResponseHeaders().set("X-Repo-Commit", commit);
            if (!files.containsKey(file)) {
                error(ex, 404, "EntryNotFound", "Entry not found");
                return;
            }
            byte[] b = files.get(file);
            if (isLfs(file)) {
                ex.getResponseHeaders().set("X-Linked-Etag", "\"" + sha256(file) + "\"");
                ex.getResponseHeaders().set("X-Linked-Size", Long.toString(b.length));
                ex.getResponseHeaders().set("ETag", "\"" + gitBlobId(file).substring(0, 20) + "pointer0000000000000\"");
                ex.getResponseHeaders().set("Location", "http://" + cdnHost + ":" + cdn.getAddress().getPort() + "/cdn/" + sha256(file) + "?file=" + file);
                ex.sendResponseHeaders(302, -1);
                return;
            }
            ex.getResponseHeaders().set("ETag", "\"" + gitBlobId(file) + "\"");
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Content-Length", Integer.toString(b.length));
                ex.sendResponseHeaders(200, -1);
            } else {
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
        }
    }

    private void onCdn(HttpExchange ex) throws IOException {
        try (ex) {
            record("cdn", ex);
            String q = ex.getRequestURI().getQuery();
            String file = q == null || !q.startsWith("file=") ? null : q.substring(5);
            if (file == null || !files.containsKey(file)) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            byte[] b = files.get(file).clone();
            if (corrupt.containsKey(file)) b[b.length / 2] ^= 0x5a;
            long from = 0;
            String range = ex.getRequestHeaders().getFirst("Range");
            if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
                from = Long.parseLong(range.substring(6, range.length() - 1));
                if (from >= b.length) {
                    ex.getResponseHeaders().set("Content-Range", "bytes */" + b.length);
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (b.length - 1) + "/" + b.length);
            }
            int len = (int) (b.length - from);
            ex.sendResponseHeaders(from > 0 ? 206 : 200, len);
            OutputStream out = ex.getResponseBody();
            Long drop = dropAfter.remove(file);
            if (drop != null) {
                out.write(b, (int) from, (int) Math.min(drop, len));
                out.flush();
                throw new IOException("FakeHub: connection dropped on purpose after " + drop + " bytes of " + file);
            }
            Integer pause = slow.get(file);
            for (int off = (int) from; off < b.length; off += 1 << 16) {
                if (pause != null) {
                    try {
                        Thread.sleep(pause);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted");
                    }
                }
                out.write(b, off, Math.min(1 << 16, b.length - off));
                out.flush();
            }
        }
    }

    private static void error(HttpExchange ex, int code, String errorCode, String message) throws IOException {
        ex.getResponseHeaders().set("X-Error-Code", errorCode);
        ex.getResponseHeaders().set("X-Error-Message", message);
        ex.sendResponseHeaders(code, -1);
    }

    static byte[] digest(String alg, byte[] b) {
        try {
            return MessageDigest.getInstance(alg).digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) { return HexFormat.of().formatHex(b); }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
    }
}
