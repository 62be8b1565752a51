package io.sdj.cli;

import io.sdj.weights.hub.ConsoleProgress;
import io.sdj.weights.hub.HubEnvironment;
import io.sdj.weights.hub.HubModels;
import io.sdj.weights.hub.HubReference;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A model argument of any command: an existing path as it is, else a hub id pulled into the Hugging Face cache
 * (progress on stderr). A Ctrl-C during the download stops it between two chunks, keeping the resumable
 * {@code .incomplete} file.
 */
final class ModelArgument {
    private ModelArgument() {}

    /** The hub environment from this process's variables, {@code --offline} on top of {@code HF_HUB_OFFLINE}. */
    static HubEnvironment environment(boolean offline) {
        HubEnvironment env = HubEnvironment.fromSystem();
        return offline ? env.withOffline(true) : env;
    }

    static Path resolve(String model, boolean offline, PrintWriter err) {
        if (HubModels.isLocal(model) || HubReference.parse(model).isEmpty()) return Path.of(model);
        HubModels hub = new HubModels(environment(offline));
        return whileCancellable(cancelled -> hub.resolve(model, new HubModels.Options(null, List.of(), new ConsoleProgress(err), cancelled::get)));
    }

    /** Runs {@code work} with a Ctrl-C hook that sets the flag it polls and waits (a little) for it to stop. */
    static <T> T whileCancellable(Function<AtomicBoolean, T> work) {
        AtomicBoolean cancelled = new AtomicBoolean();
        try (CtrlC ctrlC = CtrlC.onInterrupt(() -> cancelled.set(true), Duration.ofSeconds(10), "sdj-download-cancel")) {
            return work.apply(cancelled);
        }
    }
}
