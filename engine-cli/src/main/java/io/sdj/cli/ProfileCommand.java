package io.sdj.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.bench.FmaPeakBench;
import io.sdj.core.Parallel;
import io.sdj.core.WeightSource;
import io.sdj.models.Architecture;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.pipeline.Cancellation;
import io.sdj.models.profile.UNetProfile;
import io.sdj.models.profile.UNetProfiler;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.models.unet.UNetConfig;
import io.sdj.weights.ModelFile;
import io.sdj.weights.ModelImporter;
import io.sdj.weights.ModelSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;

/**
 * {@code sdj profile}: where a UNet evaluation's time goes, block by block (SnapFusion's latency breakdown), then by
 * resolution and by kind. A bundled name or a config.json runs on synthetic weights; a model file or folder on its
 * own weights.
 */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = {"Time one UNet evaluation block by block: ms, share of the total, parameters, GFLOP and "
                + "GFLOP/s of every resnet, attention, resampler and the input/output layers; then grouped by resolution "
                + "and by kind (resnet, self-attention, cross-attention, feed-forward, other).",
                "Each part's time is the interval between the model's marks in an ordinary forward pass (one clock read "
                + "per part); times are interquartile means over the runs (a quarter of the runs, ranked by total, dropped "
                + "from each end); the untraced time of the same forward is printed beside it.",
                "Last, this machine's FMA peak at the same thread count (a register-only loop, timed before the warm-up "
                + "and after the runs) and the forward's share of it."})
public final class ProfileCommand implements Callable<Integer> {
    static final int EXIT_BAD_INPUT = ExitCodes.BAD_INPUT, EXIT_BAD_MODEL = ExitCodes.BAD_MODEL, EXIT_CANCELLED = ExitCodes.CANCELLED;

    @Spec
    CommandSpec spec;

    @Option(names = "--arch", required = true, paramLabel = "<name|config.json|model>",
            description = "a bundled UNet (sdj arch), a diffusers UNet config.json (synthetic weights), or a model file/folder")
    String arch;

    @Option(names = "--size", description = "image size in pixels, a multiple of 8 (default 512: a 64×64 latent)")
    int size = 512;

    @Option(names = "--batch", description = "UNet batch: 1, or 2 as in classifier-free guidance (default 1)")
    int batch = 1;

    @Option(names = "--threads", description = "worker threads (default: all processors)")
    Integer threads;

    @Option(names = "--warmup", description = "untimed runs first (default 2)")
    int warmup = 2;

    @Option(names = "--runs", description = "measured runs (default 5)")
    int runs = 5;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the profile as JSON")
    Path json;

    @Option(names = "--force", description = "replace an existing --json file")
    boolean force;

    /** Set by the Ctrl-C hook (and by tests) to stop between two forward passes. */
    final Cancellation cancel = new Cancellation();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try {
            check();
        } catch (IllegalArgumentException e) {
            err.println("sdj profile: " + e.getMessage());
            err.flush();
            return EXIT_BAD_INPUT;
        }
        if (threads != null) Parallel.setThreads(threads);
        try (CtrlC ctrlC = CtrlC.onInterrupt(cancel::cancel, Duration.ofSeconds(60), "sdj-profile-cancel"); Loaded m = load()) {
            int latent = size / 8;
            err.printf(Locale.ROOT, "profiling %s (%s), batch %d, %d×%d latent (%d² image), %d threads: %d warm-up + %d measured runs%n",
                    arch, m.origin, batch, latent, latent, size, Parallel.threads(), warmup, runs);
            err.flush();
            double peakBefore = FmaPeakBench.measure(Parallel.threads(), 300, 700).gflopPerSecond();
            UNetProfile p = UNetProfiler.profile(arch, m.unet, m.weights, batch, latent, latent, warmup, runs, cancel,
                    (phase, done, total, ms) -> {
                        err.printf(Locale.ROOT, "\r%s %d/%d, last %.0f ms   ", phase, done, total, ms);
                        err.flush();
                    });
            err.println();
            err.flush();
            double peakAfter = FmaPeakBench.measure(Parallel.threads(), 300, 700).gflopPerSecond();
            print(out, p);
            printPeak(out, p, peakBefore, peakAfter);
            if (json != null) {
                var o = p.toJson();
                o.put("fma_peak_gflop_per_s_before", peakBefore);
                o.put("fma_peak_gflop_per_s_after", peakAfter);
                Files.writeString(json, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
                err.println("wrote " + json);
                err.flush();
            }
            return 0;
        } catch (CancellationException e) {
            err.println();
            err.println("sdj profile: cancelled");
            err.flush();
            return EXIT_CANCELLED;
        } catch (BadModel e) {
            err.println("sdj profile: " + String.valueOf(e.getMessage()).replaceAll("\\s*\\R\\s*", " "));
            err.flush();
            return EXIT_BAD_MODEL;
        } catch (IOException e) {
            err.println("sdj profile: cannot write " + json + ": " + e.getMessage());
            err.flush();
            return 1;
        }
    }

    /** Every option checked before any work (throws IllegalArgumentException naming the bad one). */
    void check() {
        if (size < 8 || size % 8 != 0) throw new IllegalArgumentException("--size must be a positive multiple of 8, got " + size);
        if (batch != 1 && batch != 2) throw new IllegalArgumentException("--batch must be 1 or 2, got " + batch);
        if (threads != null && threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be ≥ 0, got " + warmup);
        if (runs < 1) throw new IllegalArgumentException("--runs must be at least 1, got " + runs);
        if (json != null) {
            Path dir = json.toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir)) throw new IllegalArgumentException("--json folder " + dir + " does not exist");
            if (Files.exists(json) && !force) throw new IllegalArgumentException("--json " + json + " already exists (use --force to replace it)");
        }
        if (UNetConfig.BUNDLED.contains(arch)) return;
        for (Architecture a : Architecture.ALL) {
            if (a.name().equals(arch)) {
                throw new IllegalArgumentException("--arch " + arch + " is a " + a.component().label() + ", not a UNet (profile times UNets)");
            }
        }
        if (!Files.exists(Path.of(arch))) {
            throw new IllegalArgumentException("--arch '" + arch + "' is neither a bundled UNet (" + String.join(", ", UNetConfig.BUNDLED)
                    + ") nor an existing config.json or model file");
        }
    }

    private static final class BadModel extends RuntimeException {
        BadModel(String message, Throwable cause) { super(message, cause); }
    }

    /** The model to profile and what it was built from (closed after the run). */
    private record Loaded(UNet2DConditionModel unet, WeightSource weights, String origin, ModelSource source) implements AutoCloseable {
        @Override
        public void close() {
            if (source != null) source.close();
        }
    }

    private Loaded load() {
        try {
            if (UNetConfig.BUNDLED.contains(arch)) return synthetic(UNetConfig.bundled(arch), "bundled config, synthetic weights");
            Path p = Path.of(arch);
            String file = p.getFileName() == null ? "" : p.getFileName().toString().toLowerCase(Locale.ROOT);
            if (Files.isRegularFile(p) && file.endsWith(".json") && !file.endsWith(".index.json")) {
                JsonNode cfg;
                try {
                    cfg = new ObjectMapper().readTree(p.toFile());
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    var at = e.getLocation();
                    throw new BadModel(p + ": not a JSON config (" + e.getOriginalMessage()
                            + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()) + ")", e);
                } catch (IOException e) {
                    throw new BadModel(p + ": cannot read (" + e.getMessage() + ")", e);
                }
                return synthetic(cfg, "config " + p.getFileName() + ", synthetic weights");
            }
            boolean flat = Files.isRegularFile(p) && !file.endsWith(".safetensors");
            ModelSource m = flat ? ModelFile.open(p) : ModelImporter.importFrom(p);
            try {
                List<String> parts = m.components();
                if (!parts.contains("unet")) throw new BadModel(p + ": has no UNet (components: " + parts + ")", null);
                WeightSource w = m.weights("unet");
                return new Loaded(UNet2DConditionModel.load(m.config("unet"), w), w, "its own weights", m);
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        } catch (BadModel e) {
            throw e;
        } catch (IllegalArgumentException | UnsupportedOperationException | java.io.UncheckedIOException e) {
            throw new BadModel(e.getMessage(), e);
        }
    }

    private static Loaded synthetic(JsonNode config, String origin) {
        SyntheticWeights w = new SyntheticWeights(1234);
        UNet2DConditionModel unet = UNet2DConditionModel.load(config, w);
        System.gc();   // the generated weight bytes are garbage once the model has packed its copy
        return new Loaded(unet, w, origin, null);
    }

    /**
     * The machine's FMA peak at the same thread count ({@link FmaPeakBench}'s register-only loop), timed just before
     * the warm-up and just after the runs, and the profiled forward's share of it: the same-run reference every
     * "share of the peak" needs (the two timings differ as much as the machine drifted).
     */
    static void printPeak(PrintWriter out, UNetProfile p, double before, double after) {
        out.println();
        String low = String.format(Locale.ROOT, "%.0f", 100 * p.gflopPerSecond() / Math.max(before, after));
        String high = String.format(Locale.ROOT, "%.0f", 100 * p.gflopPerSecond() / Math.min(before, after));
        out.printf(Locale.ROOT, "FMA peak (register-only loop, %d thread%s): %.1f GFLOP/s before the runs, %.1f after; "
                + "the profiled forward ran at %s%% of it%n", p.threads(), p.threads() == 1 ? "" : "s", before, after,
                low.equals(high) ? low : low + "–" + high);
        out.flush();
    }

    static void print(PrintWriter out, UNetProfile p) {
        out.printf(Locale.ROOT, "%s: batch %d, %d×%d latent, %d threads, %d-bit vectors; ms = interquartile mean of %d runs after %d warm-up%n",
                p.arch(), p.batch(), p.latentHeight(), p.latentWidth(), p.threads(), p.vectorBits(), p.runs(), p.warmup());
        table(out, "block", p.blocks(), true);
        out.printf(Locale.ROOT, "%-44s %10.2f %6.1f%% %,14d %9.2f %9.1f%n", "total (profiled forward)", p.totalMs(), 100.0,
                p.parameters(), p.flops() / 1e9, p.gflopPerSecond());
        out.printf(Locale.ROOT, "sum of the blocks %.2f ms; untraced forward %.2f ms (profiled %+.1f%%)%n",
                p.blockSumMs(), p.plainMs(), 100 * p.overhead());
        out.println();
        table(out, "by resolution", p.byResolution(), false);
        out.println();
        table(out, "by kind", p.byKind(), false);
        out.flush();
    }

    private static void table(PrintWriter out, String title, List<UNetProfile.Row> rows, boolean withResolution) {
        out.printf(Locale.ROOT, "%-34s %-9s %10s %7s %14s %9s %9s%n", title, withResolution ? "output" : "", "ms", "share",
                "parameters", "GFLOP", "GFLOP/s");
        for (UNetProfile.Row r : rows) {
            out.printf(Locale.ROOT, "%-34s %-9s %10.2f %6.1f%% %,14d %9.2f %9.1f%n", r.name(), withResolution ? r.resolution() : "",
                    r.ms(), 100 * r.share(), r.parameters(), r.gflop(), r.gflopPerSecond());
        }
    }
}
