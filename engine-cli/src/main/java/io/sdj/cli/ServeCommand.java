package io.sdj.cli;

import io.sdj.core.Parallel;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.server.Limits;
import io.sdj.server.SdjServer;
import io.sdj.server.ServerSettings;
import io.sdj.weights.hub.HubException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;

/**
 * {@code sdj serve}: loads a model once and serves it over HTTP (A1111 API, OpenAI images API, a web page) until
 * Ctrl-C, which cancels the running and queued generations and stops the server. Settings are checked before the
 * model is loaded: a non-loopback {@code --listen} without {@code --api-key} is a usage error.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over HTTP: the AUTOMATIC1111 API (/sdapi/v1/txt2img, img2img, progress, interrupt, sd-models,",
                "samplers), OpenAI's images API (/v1/images/generations) and a web page at /. Runs until Ctrl-C.",
                "Environment: SDJ_API_KEY (the key, instead of --api-key, which other users can see in the process list)."})
public final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "<file|folder|org/name>", description = "the model: a .sdj file, a diffusers folder, a checkpoint, or a hub id (pulled on first use)")
    String model;

    @Option(names = "--offline", description = "never use the network: a hub id must be in the cache (also HF_HUB_OFFLINE=1)")
    boolean offline;

    @Option(names = "--port", description = "TCP port (default ${DEFAULT-VALUE}, A1111's; 0 = any free port)", defaultValue = "7860")
    int port;

    @Option(names = "--listen", paramLabel = "<address>", description = "address to listen on (default ${DEFAULT-VALUE}: this machine only; "
            + "anything else needs --api-key)", defaultValue = "127.0.0.1")
    String listen;

    @Option(names = "--api-key", paramLabel = "<key>", description = "require 'Authorization: Bearer <key>' on every API request (default: $SDJ_API_KEY)")
    String apiKey;

    @Option(names = "--queue", paramLabel = "N", description = "requests that may wait; one more is refused with 503 and Retry-After (default ${DEFAULT-VALUE})", defaultValue = "16")
    int queue;

    @Option(names = "--parallel", paramLabel = "N", description = "generations at once (default ${DEFAULT-VALUE}; each takes its own activation memory)", defaultValue = "1")
    int parallel;

    @Option(names = "--max-pixels", paramLabel = "N", description = "largest image, width × height (default ${DEFAULT-VALUE}); larger is refused with 413", defaultValue = "1048576")
    long maxPixels;

    @Option(names = "--max-side", paramLabel = "N", description = "largest width or height (default ${DEFAULT-VALUE})", defaultValue = "2048")
    int maxSide;

    @Option(names = "--max-steps", paramLabel = "N", description = "most steps per image (default ${DEFAULT-VALUE})", defaultValue = "150")
    int maxSteps;

    @Option(names = "--max-images", paramLabel = "N", description = "most images per request (default ${DEFAULT-VALUE})", defaultValue = "10")
    int maxImages;

    @Option(names = "--max-body-mb", paramLabel = "N", description = "largest request body in MiB (default ${DEFAULT-VALUE}); larger is refused with 413", defaultValue = "32")
    int maxBodyMb;

    @Option(names = "--preview-every", paramLabel = "N", description = "live preview for /sdapi/v1/progress every N steps (default ${DEFAULT-VALUE}; 0 = none)", defaultValue = "1")
    int previewEvery;

    @Option(names = "--threads", description = "worker threads (default: all processors)")
    Integer threads;

    /** Counted down once the server listens (tests wait on it); {@link #server} is set then. */
    final CountDownLatch started = new CountDownLatch(1);
    volatile SdjServer server;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        ServerSettings settings;
        try {
            String key = apiKey != null ? apiKey : System.getenv("SDJ_API_KEY");
            if (key != null && key.isEmpty()) key = null;
            if (threads != null && threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
            if (maxBodyMb < 1) throw new IllegalArgumentException("--max-body-mb must be at least 1, got " + maxBodyMb);
            Limits limits = new Limits((long) maxBodyMb << 20, maxSide, maxPixels, maxSteps, maxImages);
            settings = new ServerSettings(listen, port, key, queue, parallel, limits, previewEvery);
        } catch (IllegalArgumentException e) {
            err.println("sdj serve: " + e.getMessage());
            err.flush();
            return ExitCodes.BAD_INPUT;
        }
        if (threads != null) Parallel.setThreads(threads);
        Txt2Img sd;
        try {
            sd = Txt2Img.builder(ModelArgument.resolve(model, offline, err))
                    .warnings(m -> { err.println("sdj serve: warning: " + m); err.flush(); }).load();
        } catch (CancellationException e) {
            err.println();
            err.println("sdj serve: " + e.getMessage());
            err.flush();
            return ExitCodes.CANCELLED;
        } catch (IllegalArgumentException | UnsupportedOperationException | HubException e) {
            err.println("sdj serve: " + e.getMessage());
            err.flush();
            return ExitCodes.BAD_MODEL;
        } catch (io.sdj.core.DirectMemory.ShortageException e) {
            err.println("sdj serve: " + e.getMessage());
            err.flush();
            return ExitCodes.OUT_OF_MEMORY;
        }
        try (sd; SdjServer s = new SdjServer(sd, model, settings)) {
            try {
                s.start();
            } catch (Exception e) {
                err.println("sdj serve: cannot listen on " + listen + ":" + port + ": " + (e.getMessage() == null ? e.toString() : e.getMessage()));
                err.flush();
                return ExitCodes.FAILED;
            }
            server = s;
            // Ctrl-C: cancel the generations, stop listening
            CtrlC ctrlC = CtrlC.onInterrupt(s::close, Duration.ZERO, "sdj-serve-stop");
            err.println("sdj serve: " + sd.modelName() + " on " + s.uri() + " (A1111 API /sdapi/v1/..., OpenAI /v1/images/generations, web page /)"
                    + (settings.apiKey() == null ? "" : "; API key required") + "; queue " + settings.queue() + ", " + settings.parallel()
                    + " at a time; Ctrl-C stops");
            err.flush();
            started.countDown();
            s.join();
            ctrlC.close();
            return ExitCodes.OK;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ExitCodes.CANCELLED;
        }
    }
}
