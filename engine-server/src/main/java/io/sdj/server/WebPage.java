package io.sdj.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/** The web page at {@code /}: plain HTML, JavaScript and CSS from the jar's resources ({@code io/sdj/server/web/}). */
final class WebPage {
    record Resource(String contentType, byte[] bytes) {}

    private static final Map<String, String> FILES = Map.of(
            "/", "index.html", "/index.html", "index.html", "/app.js", "app.js", "/style.css", "style.css");

    private final Map<String, Resource> resources;

    WebPage() {
        java.util.HashMap<String, Resource> m = new java.util.HashMap<>();
        for (var e : FILES.entrySet()) m.put(e.getKey(), load(e.getValue()));
        resources = Map.copyOf(m);
    }

    /** The file served at {@code path}, or null. */
    Resource get(String path) { return resources.get(path); }

    private static Resource load(String name) {
        try (InputStream in = WebPage.class.getResourceAsStream("web/" + name)) {
            if (in == null) throw new IllegalStateException("resource io/sdj/server/web/" + name + " is missing from the jar");
            String ext = name.substring(name.lastIndexOf('.') + 1);
            return new Resource(SdjServer.TYPES.get(ext), in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
