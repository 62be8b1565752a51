package io.sdj.spark;

import io.sdj.models.pipeline.Txt2Img;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models loaded in this JVM (an executor, or the driver in local mode), one per model path: the first task that
 * needs a model loads it, concurrent tasks wait for that load, later tasks reuse it. The weights are memory-mapped
 * once and shared read-only by every task of the executor ({@link Txt2Img#generate} is safe to call concurrently).
 * A load that fails is not remembered: the next task tries again (and reports the same error if it persists).
 * Models stay loaded for the life of the JVM; {@link #closeAll()} unmaps them (tests, long-lived local sessions).
 */
public final class ExecutorModels {
    private static final ConcurrentHashMap<String, Slot> MODELS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ExecutorModels() {}

    /** The loaded pipeline for {@code model} (a local path, the same on every executor, or a hub id). */
    public static Txt2Img get(String model) {
        return MODELS.computeIfAbsent(key(model), Slot::new).get();
    }

    /** How many model loads this JVM has done (each distinct model once, plus reloads after {@link #closeAll()}). */
    public static int loads() { return LOADS.get(); }

    /** Unmaps every loaded model; running generations finish first ({@link Txt2Img#close()}). */
    public static void closeAll() {
        for (String k : MODELS.keySet()) {
            Slot s = MODELS.remove(k);
            if (s != null) s.close();
        }
    }

    /** A local path that exists is keyed by its absolute normal form, so two spellings of it share one load. */
    private static String key(String model) {
        try {
            Path p = Path.of(model);
            if (Files.exists(p)) return p.toAbsolutePath().normalize().toString();
        } catch (java.nio.file.InvalidPathException ignored) {
            // a hub id that is not a valid path: keyed as given
        }
        return model;
    }

    /** One model's lazily loaded pipeline; the lock is per model, so loading one never blocks another. */
    private static final class Slot {
        private final String model;
        private Txt2Img pipeline;   // guarded by this

        Slot(String model) { this.model = model; }

        synchronized Txt2Img get() {
            if (pipeline == null) {
                pipeline = Txt2Img.load(model);
                LOADS.incrementAndGet();
            }
            return pipeline;
        }

        synchronized void close() {
            if (pipeline != null) pipeline.close();
            pipeline = null;
        }
    }
}
