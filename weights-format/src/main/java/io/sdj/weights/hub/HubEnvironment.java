package io.sdj.weights.hub;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Where and how to reach the hub, read from the same environment variables as the Python {@code huggingface_hub}
 * client: {@code HF_ENDPOINT} (default {@code https://huggingface.co}), {@code HF_TOKEN} or else the token file
 * ({@code HF_TOKEN_PATH}, default {@code $HF_HOME/token}), {@code HF_HOME} (default
 * {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface}), {@code HF_HUB_CACHE} (default
 * {@code $HF_HOME/hub}; the older {@code HUGGINGFACE_HUB_CACHE} too) and {@code HF_HUB_OFFLINE}.
 *
 * @param token null when there is none
 */
public record HubEnvironment(URI endpoint, String token, Path cacheDir, boolean offline) {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    public HubEnvironment {
        String e = endpoint.toString();
        if (e.endsWith("/")) endpoint = URI.create(e.substring(0, e.length() - 1));
    }

    /** From this process's environment. */
    public static HubEnvironment fromSystem() { return fromEnvironment(System.getenv()); }

    public static HubEnvironment fromEnvironment(Map<String, String> env) {
        String endpoint = nonBlank(env.get("HF_ENDPOINT"));
        String home = nonBlank(env.get("HF_HOME"));
        Path hfHome;
        if (home != null) {
            hfHome = expand(home);
        } else {
            String xdg = nonBlank(env.get("XDG_CACHE_HOME"));
            hfHome = (xdg != null ? expand(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("huggingface");
        }
        String cache = nonBlank(env.get("HF_HUB_CACHE"));
        if (cache == null) cache = nonBlank(env.get("HUGGINGFACE_HUB_CACHE"));
        Path cacheDir = cache != null ? expand(cache) : hfHome.resolve("hub");
        String token = nonBlank(env.get("HF_TOKEN"));
        if (token == null) token = nonBlank(env.get("HUGGING_FACE_HUB_TOKEN"));
        if (token == null) {
            String tp = nonBlank(env.get("HF_TOKEN_PATH"));
            Path tokenFile = tp != null ? expand(tp) : hfHome.resolve("token");
            try {
                if (Files.isRegularFile(tokenFile)) token = nonBlank(Files.readString(tokenFile).strip());
            } catch (IOException e) {
                throw new HubException("cannot read the hub token file " + tokenFile + ": " + e.getMessage(), e);
            }
        }
        boolean offline = isTrue(env.get("HF_HUB_OFFLINE"));
        URI uri;
        try {
            uri = URI.create(endpoint == null ? DEFAULT_ENDPOINT : endpoint);
        } catch (IllegalArgumentException e) {
            throw new HubException("HF_ENDPOINT is not a URL: " + endpoint);
        }
        if (uri.getScheme() == null || uri.getHost() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
            throw new HubException("HF_ENDPOINT must be an http(s) URL, got " + endpoint);
        }
        return new HubEnvironment(uri, token, cacheDir, offline);
    }

    public HubEnvironment withOffline(boolean off) { return new HubEnvironment(endpoint, token, cacheDir, off); }

    public HubEnvironment withCacheDir(Path dir) { return new HubEnvironment(endpoint, token, dir, offline); }

    /** The values {@code huggingface_hub} reads as true: 1, ON, YES, TRUE (any case). */
    static boolean isTrue(String v) {
        return v != null && switch (v.strip().toUpperCase(Locale.ROOT)) {
            case "1", "ON", "YES", "TRUE" -> true;
            default -> false;
        };
    }

    private static String nonBlank(String s) { return s == null || s.isBlank() ? null : s; }

    private static Path expand(String p) {
        if (p.equals("~") || p.startsWith("~/")) return Path.of(System.getProperty("user.home") + p.substring(1));
        return Path.of(p);
    }

    @Override
    public String toString() {   // never prints the token
        return "HubEnvironment[endpoint=" + endpoint + ", token=" + (token == null ? "none" : "set") + ", cacheDir=" + cacheDir + ", offline=" + offline + "]";
    }
}
