package io.sdj.cli;

import io.sdj.core.Parallel;
import io.sdj.models.pipeline.Cancellation;
import io.sdj.models.pipeline.DecoderKind;
import io.sdj.models.pipeline.GenerationRequest;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.weights.hub.HubException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code sdj generate}: text to PNG. Every setting is checked before the model is loaded; a bad one ends the run
 * with one line naming it and exit code 2 (an unreadable or incomplete model: exit code 3). Output is written to a
 * temporary file in the target folder and renamed into place, so an interrupted run (Ctrl-C) leaves no partial
 * file; an existing file is only replaced with {@code --force}.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate images from a text prompt and write them as PNG (with A1111-style parameters).")
public final class GenerateCommand implements Callable<Integer> {
    static final int EXIT_BAD_INPUT = 2, EXIT_BAD_MODEL = 3, EXIT_CANCELLED = 130;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "<file|folder|org/name>",
            description = "sdj model file, diffusers pipeline folder, or a hub id org/name[@revision] (pulled into the Hugging Face cache on first use)")
    String model;
    @Option(names = "--offline", description = "never use the network: a hub id must be in the cache (also HF_HUB_OFFLINE=1)")
    boolean offline;
    @Option(names = "--prompt", required = true, description = "what to draw")
    String prompt;
    @Option(names = "--negative", description = "what to avoid (used when --cfg > 1)")
    String negative = "";
    @Option(names = "--steps", description = "denoising steps (default: the model's recipe, 50 for SD, 4 for LCM)")
    Integer steps;
    @Option(names = "--schedule", description = "named recipe instead of --steps: 8-step (DDIM trailing, or LCM for LCM models), 1-step, default")
    String schedule;
    @Option(names = "--sampler", description = "ddim, pndm, euler, euler-a, dpmpp-2m, lcm, onestep (default: the model's scheduler)")
    String sampler;
    @Option(names = "--cfg", description = "classifier-free guidance scale (default 7.5; 1 = off)")
    Float cfg;
    @Option(names = "--seed", description = "random seed (default: a random one, printed)")
    Long seed;
    @Option(names = "--width", description = "image width, a multiple of 8 (default 512)")
    int width = 512;
    @Option(names = "--height", description = "image height, a multiple of 8 (default 512)")
    int height = 512;
    @Option(names = "--decoder", description = "vae or taesd (default vae)")
    String decoder = "vae";
    @Option(names = "--batch", description = "images per run (default 1)")
    int batch = 1;
    @Option(names = "--clip-skip", description = "0 (default) or 1: use the penultimate text encoder layer")
    int clipSkip = 0;
    @Option(names = "--threads", description = "worker threads (default: all processors)")
    Integer threads;
    @Option(names = {"-o", "--output"}, required = true, description = "output PNG (batch N>1: name-1.png ... name-N.png)")
    Path output;
    @Option(names = "--force", description = "replace existing output files")
    boolean force;

    /** Set by the Ctrl-C hook (and by tests) to stop the run within one step. */
    final Cancellation cancel = new Cancellation();

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        GenerationRequest.Builder req;
        List<Path> outputs;
        try {
            req = settings();
            req.build();   // the request's own checks, before the model is loaded
            outputs = outputPaths();
        } catch (IllegalArgumentException e) {
            err.println("sdj generate: " + e.getMessage());
            err.flush();
            return EXIT_BAD_INPUT;
        }
        if (threads != null) Parallel.setThreads(threads);

        Txt2Img pipeline;
        try {
            pipeline = Txt2Img.load(ModelArgument.resolve(model, offline, err));
        } catch (CancellationException e) {
            err.println();
            err.println("sdj generate: " + e.getMessage());
            err.flush();
            return EXIT_CANCELLED;
        } catch (IllegalArgumentException | UnsupportedOperationException | HubException e) {
            err.println("sdj generate: " + e.getMessage());
            err.flush();
            return EXIT_BAD_MODEL;
        }
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            cancel.cancel();
            try {
                finished.await(60, TimeUnit.SECONDS);   // let the run stop and remove its temporary file
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "sdj-generate-cancel");
        boolean hooked = registerHook(hook);
        List<Path> temps = new ArrayList<>();
        try (pipeline) {
            GenerationRequest r = req.listener(new ProgressBar(err)).cancellation(cancel)
                    .warnings(m -> { err.println("sdj generate: warning: " + m); err.flush(); }).build();
            if (!pipeline.hasDecoder(r.decoder())) {
                err.println("sdj generate: model " + model + " has no " + r.decoder().cliName() + " decoder");
                return EXIT_BAD_MODEL;
            }
            GenerationResult result = pipeline.generate(r);
            err.println();
            for (int i = 0; i < outputs.size(); i++) {
                cancel.check("before writing " + outputs.get(i));
                Path target = outputs.get(i);
                Path dir = target.toAbsolutePath().getParent();
                // hidden temporary beside the target, created with the ordinary (umask) permissions
                Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toUnsignedString(new SecureRandom().nextLong(), 36) + ".part");
                temps.add(tmp);
                Files.write(tmp, PngWriter.encode(result.images().get(i), result.parameters(i)),
                        StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                if (force) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } else {
                    Files.move(tmp, target);
                }
                temps.remove(tmp);
                err.println("wrote " + target);
            }
            err.println(String.format(Locale.ROOT, "seed %d, %d×%d, %s", r.seed(), r.width(), r.height(), result.timings()));
            err.flush();
            return 0;
        } catch (CancellationException e) {
            err.println();
            err.println("sdj generate: cancelled, nothing written");
            err.flush();
            return EXIT_CANCELLED;
        } catch (FileAlreadyExistsException e) {
            err.println("sdj generate: " + e.getFile() + " appeared while generating; not replaced (use --force)");
            err.flush();
            return EXIT_BAD_INPUT;
        } catch (IOException e) {
            err.println("sdj generate: cannot write " + output + ": " + e.getMessage());
            err.flush();
            return 1;
        } catch (Exception e) {
            err.println("sdj generate: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            err.flush();
            return 1;
        } finally {
            for (Path t : temps) {
                try {
                    Files.deleteIfExists(t);
                } catch (IOException ignored) {
                    // best effort: the temporary file is hidden and named after the target
                }
            }
            finished.countDown();
            if (hooked) {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException ignored) {
                    // the JVM is already shutting down (Ctrl-C): the hook is running
                }
            }
        }
    }

    private static boolean registerHook(Thread hook) {
        try {
            Runtime.getRuntime().addShutdownHook(hook);
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /** The request from the options, every value checked (throws IllegalArgumentException naming the bad one). */
    GenerationRequest.Builder settings() {
        if (prompt.isBlank()) throw new IllegalArgumentException("--prompt is empty");
        SamplerKind kind = sampler == null ? null : SamplerKind.parse(sampler);
        NamedSchedule named = null;
        if (schedule != null) {
            if (steps != null) throw new IllegalArgumentException("give either --steps or --schedule, not both");
            named = NamedSchedule.parse(schedule);
        }
        if (steps != null && steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        float g = cfg == null ? (named == NamedSchedule.ONE_STEP ? 1f : 7.5f) : cfg;
        if (Float.isNaN(g) || Float.isInfinite(g) || g < 0) throw new IllegalArgumentException("--cfg must be a finite number ≥ 0, got " + cfg);
        if (width < 8 || width % 8 != 0) throw new IllegalArgumentException("--width must be a positive multiple of 8, got " + width);
        if (height < 8 || height % 8 != 0) throw new IllegalArgumentException("--height must be a positive multiple of 8, got " + height);
        if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
        if (threads != null && threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        DecoderKind dec = DecoderKind.parse(decoder);
        long s = seed != null ? seed : new SecureRandom().nextLong() & Long.MAX_VALUE;
        return GenerationRequest.builder().prompt(prompt).negativePrompt(negative).steps(steps).sampler(kind).schedule(named).guidance(g)
                .seed(s).size(width, height).decoder(dec).batch(batch).clipSkip(clipSkip);
    }

    /** The files to write; each must be absent (or --force) and its folder must exist. */
    List<Path> outputPaths() {
        String name = output.getFileName() == null ? "" : output.getFileName().toString();
        if (!name.toLowerCase(Locale.ROOT).endsWith(".png")) throw new IllegalArgumentException("output " + output + " must end in .png");
        Path dir = output.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new IllegalArgumentException("output folder " + dir + " does not exist");
        List<Path> out = new ArrayList<>();
        if (batch == 1) {
            out.add(output);
        } else {
            String stem = name.substring(0, name.length() - 4);
            for (int i = 1; i <= batch; i++) out.add(output.resolveSibling(stem + "-" + i + ".png"));
        }
        for (Path p : out) {
            if (Files.isDirectory(p)) throw new IllegalArgumentException("output " + p + " is a folder");
            if (Files.exists(p) && !force) throw new IllegalArgumentException("output " + p + " already exists (use --force to replace it)");
        }
        return out;
    }

    /** "step 3/20 [######..............] 1.42 s/step, 24 s left" on one rewritten stderr line. */
    static final class ProgressBar implements io.sdj.models.pipeline.ProgressListener {
        private final PrintWriter err;

        ProgressBar(PrintWriter err) { this.err = err; }

        @Override
        public void onStep(int step, int total, Duration elapsed, double secondsPerStep) {
            int width = 24, done = (int) Math.round((double) width * step / total);
            String bar = "#".repeat(done) + ".".repeat(width - done);
            double left = secondsPerStep * (total - step);
            err.print(String.format(Locale.ROOT, "\rstep %d/%d [%s] %.2f s/step, %.0f s left ", step, total, bar, secondsPerStep, left));
            err.flush();
        }
    }
}
