package io.sdj.server;

import java.net.InetAddress;

/**
 * How {@link SdjServer} listens and schedules: the address and port (0 = any free port), the API key (null = none;
 * required off loopback), how many requests may wait ({@code queue}) and how many generate at once
 * ({@code parallel}: each takes its own activation workspace, so memory grows with it), the request limits, and the
 * live-preview interval in steps for {@code /sdapi/v1/progress} (0 = no previews).
 */
public record ServerSettings(String listen, int port, String apiKey, int queue, int parallel, Limits limits, int previewEvery) {
    public static ServerSettings loopback(int port) {
        return new ServerSettings("127.0.0.1", port, null, 16, 1, Limits.DEFAULT, 1);
    }

    public ServerSettings {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        if (queue < 0) throw new IllegalArgumentException("queue must be at least 0, got " + queue);
        if (parallel < 1) throw new IllegalArgumentException("parallel must be at least 1, got " + parallel);
        if (previewEvery < 0) throw new IllegalArgumentException("preview interval must be at least 0, got " + previewEvery);
        if (apiKey != null && apiKey.isBlank()) throw new IllegalArgumentException("the API key must not be empty");
        if (limits == null) limits = Limits.DEFAULT;
        if (apiKey == null && !isLoopback(listen)) {
            throw new IllegalArgumentException("listening on " + listen + " (not a loopback address) needs an API key (--api-key)");
        }
    }

    public ServerSettings withPort(int p) { return new ServerSettings(listen, p, apiKey, queue, parallel, limits, previewEvery); }
    public ServerSettings withApiKey(String k) { return new ServerSettings(listen, port, k, queue, parallel, limits, previewEvery); }
    public ServerSettings withQueue(int q, int par) { return new ServerSettings(listen, port, apiKey, q, par, limits, previewEvery); }
    public ServerSettings withLimits(Limits l) { return new ServerSettings(listen, port, apiKey, queue, parallel, l, previewEvery); }

    /** Whether {@code host} names only this machine (127.0.0.0/8, ::1, localhost); unresolvable names are not. */
    public static boolean isLoopback(String host) {
        if (host == null || host.isBlank()) return false;
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) if (!a.isLoopbackAddress()) return false;
            return true;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }
}
