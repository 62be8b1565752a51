package io.sdj.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.pipeline.Txt2Img;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * {@code sdj serve}: one loaded model behind the AUTOMATIC1111 API ({@code /sdapi/v1/...}), OpenAI's images API
 * ({@code /v1/images/generations}) and a web page ({@code /}), on Jetty 12's core Handler API (HTTP/1.1, no servlets).
 * Generations go through a bounded {@link GenerationQueue}; a request waits without holding a server thread, and a
 * client that hangs up cancels its request ({@link ClientWatch}). With an API key every API request must carry
 * {@code Authorization: Bearer KEY} (the page's static files do not: they hold no data, and a browser cannot send the
 * header when it opens a page; the page sends the key it is given with each API call).
 */
public final class SdjServer implements AutoCloseable {
    static {
        // Jetty logs through SLF4J; with no SLF4J backend on the class path SLF4J prints three warning lines at start.
        // sdj reports what matters itself (every refused request gets its answer), so keep those lines quiet.
        if (System.getProperty("slf4j.internal.verbosity") == null) System.setProperty("slf4j.internal.verbosity", "ERROR");
    }

    private final ObjectMapper json = new ObjectMapper();
    private final ServerSettings settings;
    private final GenerationQueue queue;
    private final ClientWatch watch = new ClientWatch();
    private final A1111Api a1111;
    private final OpenAiImagesApi openai;
    private final ApiKey apiKey;
    private final WebPage page = new WebPage();
    private final Server server;
    private final ServerConnector connector;

    /**
     * @param sd           the loaded model (not closed by the server)
     * @param modelSource  how the model was named (file, folder or hub id), reported by {@code /sdapi/v1/sd-models}
     */
    public SdjServer(Txt2Img sd, String modelSource, ServerSettings settings) {
        this.settings = settings;
        this.queue = new GenerationQueue(sd, settings.queue(), settings.parallel(), settings.previewEvery());
        this.a1111 = new A1111Api(json, sd, settings.limits(), modelSource);
        this.openai = new OpenAiImagesApi(json, sd, settings.limits());
        this.apiKey = settings.apiKey() == null ? null : new ApiKey(settings.apiKey());
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("sdj-serve-http");
        threads.setDaemon(true);
        server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendDateHeader(true);
        connector = new ServerConnector(server, new HttpConnectionFactory(http));
        connector.setHost(settings.listen());
        connector.setPort(settings.port());
        server.addConnector(connector);
        server.setHandler(new Routes());
        server.setStopTimeout(5_000);
    }

    /** Binds the port and starts serving; throws when the address is taken or cannot be bound. */
    public void start() throws Exception {
        server.start();
    }

    /** The port it listens on (the chosen one when the settings said 0). */
    public int port() { return connector.getLocalPort(); }

    /** {@code http://host:port/}. */
    public URI uri() {
        String host = settings.listen().contains(":") ? "[" + settings.listen() + "]" : settings.listen();
        return URI.create("http://" + host + ":" + port() + "/");
    }

    /** The generation queue (tests look at it). */
    GenerationQueue queue() { return queue; }

    /** Waits until the server stops. */
    public void join() throws InterruptedException { server.join(); }

    /** Cancels every queued and running generation, then stops listening. */
    @Override
    public void close() {
        queue.close();
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the HTTP server: " + e.getMessage(), e);
        } finally {
            watch.close();
        }
    }

    private final class Routes extends Handler.Abstract {   // blocking: it reads request bodies
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            String path = Request.getPathInContext(request);
            boolean openAi = path.startsWith("/v1/");
            try {
                route(path, request, response, callback);
            } catch (GenerationQueue.QueueFullException e) {
                response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(e.retryAfterSeconds));
                error(response, callback, e, openAi);
            } catch (ApiException e) {
                error(response, callback, e, openAi);
            } catch (RuntimeException | OutOfMemoryError e) {
                error(response, callback, new ApiException(500, "internal error: " + e), openAi);
            }
            return true;
        }
    }

    private void route(String path, Request request, Response response, Callback callback) {
        String method = request.getMethod();
        if (!path.startsWith("/sdapi/") && !path.startsWith("/v1/")) {
            if (!method.equals("GET") && !method.equals("HEAD")) throw new ApiException(405, method + " " + path + ": only GET here");
            WebPage.Resource r = page.get(path);
            if (r == null) throw new ApiException(404, "not found: " + path);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, r.contentType());
            response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
            response.getHeaders().put("X-Content-Type-Options", "nosniff");
            response.write(true, ByteBuffer.wrap(r.bytes()), callback);
            return;
        }
        if (apiKey != null && !apiKey.accepts(request.getHeaders().get(HttpHeader.AUTHORIZATION))) {
            response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
            throw new ApiException(401, request.getHeaders().get(HttpHeader.AUTHORIZATION) == null
                    ? "this server needs an API key: send the header 'Authorization: Bearer <key>'" : "wrong API key");
        }
        switch (path) {
            case "/sdapi/v1/txt2img" -> generate(request, response, callback, method, body -> a1111.txt2img(body));
            case "/sdapi/v1/img2img" -> generate(request, response, callback, method, body -> a1111.img2img(body));
            case "/v1/images/generations" -> generate(request, response, callback, method, body -> openai.generations(body));
            case "/sdapi/v1/progress" -> {
                expect(method, "GET", path);
                Fields query = Request.extractQueryParameters(request);
                boolean skip = Boolean.parseBoolean(query.getValue("skip_current_image"));
                send(response, callback, 200, a1111.progress(queue, skip));
            }
            case "/sdapi/v1/interrupt" -> {
                expect(method, "POST", path);
                queue.interruptRunning();
                send(response, callback, 200, json.createObjectNode());
            }
            case "/sdapi/v1/sd-models" -> {
                expect(method, "GET", path);
                send(response, callback, 200, a1111.sdModels());
            }
            case "/sdapi/v1/samplers" -> {
                expect(method, "GET", path);
                send(response, callback, 200, a1111.samplers());
            }
            default -> throw new ApiException(404, "not found: " + path + " (sdj serves /sdapi/v1/txt2img, img2img, progress, interrupt, "
                    + "sd-models, samplers and /v1/images/generations)");
        }
    }

    private static void expect(String method, String wanted, String path) {
        if (!method.equals(wanted)) throw new ApiException(405, method + " " + path + ": use " + wanted);
    }

    /** Reads the JSON body, queues the generation and answers when it is done, without holding a server thread. */
    private void generate(Request request, Response response, Callback callback, String method,
                          java.util.function.Function<ObjectNode, Generation> api) {
        String path = Request.getPathInContext(request);
        expect(method, "POST", path);
        boolean openAi = path.startsWith("/v1/");
        Generation g = api.apply(body(request, response));
        Job job = queue.submit(g.kind(), g.runs());
        request.addIdleTimeoutListener(timeout -> false);   // a long generation is not an idle connection
        ClientWatch.Watch w = watch.watch(request.getConnectionMetaData().getConnection().getEndPoint(),
                () -> queue.cancel(job, "client disconnected"));
        job.outcome.whenComplete((outcome, failure) -> {
            boolean closeAfter = w.stop();
            if (w.clientGone()) {
                callback.failed(new EofException("the client disconnected"));
                return;
            }
            if (closeAfter) response.getHeaders().put(HttpHeader.CONNECTION, "close");
            try {
                if (failure != null) {
                    ApiException e = failure instanceof IllegalArgumentException ? new ApiException(400, failure.getMessage())
                            : failure instanceof OutOfMemoryError ? new ApiException(500, "out of memory: the server's heap is too small for this request (raise -Xmx)")
                            : new ApiException(500, "generation failed: " + failure);
                    error(response, callback, e, openAi);
                } else if (outcome.results().isEmpty()) {
                    error(response, callback, new ApiException(409, "the generation was stopped before an image was finished ("
                            + outcome.stoppedBecause() + ")"), openAi);
                } else {
                    send(response, callback, 200, g.answer().apply(outcome));
                }
            } catch (RuntimeException e) {
                error(response, callback, new ApiException(500, "internal error: " + e), openAi);
            }
        });
    }

    private ObjectNode body(Request request, Response response) {
        long max = settings.limits().maxBodyBytes();
        long declared = request.getLength();
        byte[] bytes;
        try (InputStream in = Content.Source.asInputStream(request)) {
            if (declared > max) refuseLargeBody(in, declared, max, response);
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
            if (bytes.length > max) refuseLargeBody(in, -1, max, response);
        } catch (IOException e) {
            throw new ApiException(400, "cannot read the request body: " + e.getMessage());
        }
        JsonNode node;
        try {
            node = json.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ApiException(400, "cannot read the request body: " + e.getMessage());
        }
        if (node == null || !node.isObject()) throw new ApiException(400, "the request body must be a JSON object");
        return (ObjectNode) node;
    }

    /**
     * Answers 413 to a body over the limit. What is left of it is read and dropped first, up to as much again as the
     * limit, so that a client still sending it (most do not wait for {@code 100 Continue}) reads the answer instead of
     * a reset connection; a larger body is not read, and the connection is closed after the answer.
     */
    private static void refuseLargeBody(InputStream in, long declared, long max, Response response) throws IOException {
        long readable = declared < 0 ? max : declared <= 2 * max ? declared : -1;
        if (readable < 0 || !drain(in, readable)) response.getHeaders().put(HttpHeader.CONNECTION, "close");
        throw tooLarge(declared, max);
    }

    /** Reads and drops up to {@code limit} bytes; true when the body ended within them. */
    private static boolean drain(InputStream in, long limit) throws IOException {
        byte[] sink = new byte[64 << 10];
        for (long left = limit; ; ) {
            int n = in.read(sink, 0, (int) Math.min(sink.length, left + 1));   // one byte past the limit sees the end
            if (n < 0) return true;
            left -= n;
            if (left < 0) return false;
        }
    }

    private static ApiException tooLarge(long declared, long max) {
        return new ApiException(413, "the request body " + (declared >= 0 ? "(" + declared + " bytes) " : "")
                + "is larger than this server accepts (" + max + " bytes)");
    }

    private void send(Response response, Callback callback, int status, JsonNode body) {
        byte[] bytes;
        try {
            bytes = json.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /**
     * An error in the shape its API's clients read: OpenAI's {@code {"error": {message, type, param, code}}};
     * A1111's (FastAPI's) {@code {"error": reason, "detail": message}} elsewhere.
     */
    private void error(Response response, Callback callback, ApiException e, boolean openAi) {
        ObjectNode body = json.createObjectNode();
        if (openAi) {
            ObjectNode err = body.putObject("error");
            err.put("message", e.getMessage());
            err.put("type", e.status() >= 500 ? "server_error" : "invalid_request_error");
            if (e.field() != null) err.put("param", e.field());
            else err.putNull("param");
            err.putNull("code");
        } else {
            body.put("error", HttpStatus.getMessage(e.status()));
            body.put("detail", e.getMessage());
        }
        send(response, callback, e.status(), body);
    }

    static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8");
}
