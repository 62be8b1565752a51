package io.sdj.cli;

import io.sdj.core.Parallel;
import io.sdj.models.pipeline.Cancellation;
import io.sdj.models.pipeline.DecoderKind;
import io.sdj.models.pipeline.GenerationRequest;
import io.sdj.models.pipeline.GenerationMode;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.ImagePreprocessor;
import io.sdj.models.pipeline.PngReader;
import io.sdj.models.pipeline.RgbImage;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.pipeline.VaeTilingMode;
import io.sdj.models.clip.PromptSyntax;
import io.sdj.models.sampling.RngKind;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.weights.hub.HubException;
import io.sdj.weights.hub.HubModels;
import io.sdj.weights.hub.HubReference;
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

/**
 * {@code sdj generate}: text (and optionally an init image and a mask) to PNG. Every setting is checked before the model is loaded; a bad one ends the run
 * with one line naming it and exit code 2 (an unreadable or incomplete model: exit code 3). Output is written to a
 * temporary file in the target folder and renamed into place, so an interrupted run (Ctrl-C) leaves no partial
 * file; an existing file is only replaced with {@code --force}.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate images from a text prompt (txt2img), from an init image (img2img: --init-image, --strength) or "
                + "repaint the white part of a mask (inpainting: --init-image, --mask), and write them as PNG (with A1111-style parameters).")
public final class GenerateCommand implements Callable<Integer> {
    static final int EXIT_BAD_INPUT = ExitCodes.BAD_INPUT, EXIT_BAD_MODEL = ExitCodes.BAD_MODEL, EXIT_CANCELLED = ExitCodes.CANCELLED;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "<file|folder|org/name>",
            description = "sdj model file, diffusers pipeline folder, or a hub id org/name[@revision] (pulled into the Hugging Face cache on first use)")
    String model;
    @Option(names = "--offline", description = "never use the network: a hub id must be in the cache (also HF_HUB_OFFLINE=1)")
    boolean offline;
    @Option(names = "--prompt", required = true, description = "what to draw (may be empty: unconditional)")
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
    @Option(names = "--seed", paramLabel = "<seed>", description = "random seed, 0 to 18446744073709551615 as torch accepts (negative values wrap "
            + "as in torch); -1 or absent: a random seed, printed and recorded in the PNG")
    String seed;
    @Option(names = "--width", description = "image width, a multiple of 8 (default 512; with --init-image its width rounded down to a multiple of 8)")
    Integer width;
    @Option(names = "--height", description = "image height, a multiple of 8 (default 512; with --init-image its height rounded down to a multiple of 8)")
    Integer height;
    @Option(names = "--init-image", paramLabel = "<png>", description = "start from this image (img2img; with --mask: inpainting)")
    Path initImage;
    @Option(names = "--strength", description = "img2img/inpainting: how much of the init image is repainted, in (0, 1]: "
            + "the last strength × steps steps run (default 0.8 for img2img, 1 for inpainting)")
    Double strength;
    @Option(names = "--mask", paramLabel = "<png>", description = "inpainting mask: white = repaint, black = keep (resized to the output size)")
    Path mask;
    @Option(names = "--count", description = "images one after another with seeds seed, seed+1, ... (default 1)")
    int count = 1;
    @Option(names = "--preview", paramLabel = "<png>", description = "rewrite this PNG with a preview of the latents while generating")
    Path preview;
    @Option(names = "--preview-every", description = "preview interval in steps (default 1)")
    int previewEvery = 1;
    @Option(names = "--decoder", description = "vae or taesd (default vae; taesd when --taesd is given)")
    String decoder;
    @Option(names = "--taesd", paramLabel = "<file|folder|org/name>", description = "a standalone TAESD decoder to use: taesd.py .pth/.safetensors file or diffusers AutoencoderTiny folder, or its hub id (org/name or org/name/file, pulled on first use)")
    String taesd;
    @Option(names = "--lora", paramLabel = "<file[:multiplier]>", description = "merge a LoRA (kohya or PEFT; .safetensors or .pt), multiplier default 1; repeatable")
    List<String> loraOptions = new ArrayList<>();
    @Option(names = "--lora-dir", paramLabel = "<folder>", description = "where <lora:name:multiplier> tags of the prompt are looked up (name.safetensors, .pt, .ckpt, .pth, .bin)")
    Path loraDir;
    @Option(names = "--batch", description = "images per run (default 1)")
    int batch = 1;
    @Option(names = "--clip-skip", description = "0 (default) or 1: use the penultimate text encoder layer")
    int clipSkip = 0;
    @Option(names = "--prompt-syntax", description = "a1111 (default: (word:1.3) weights, [less], BREAK; long prompts in 75-token chunks) or plain (text as is, still chunked)")
    String promptSyntax = "a1111";
    @Option(names = "--rng", description = "noise for a seed: cpu (default, diffusers' CPU generator) or cuda (torch's GPU Philox stream: A1111's and GPU users' seeds)")
    String rng = "cpu";
    @Option(names = "--vae-tiling", description = "on, off or auto (default: tiles when the decode would need more than 2 GiB: above ~640x640 for the VAE, ~1400x1400 for TAESD)")
    String vaeTiling = "auto";
    @Option(names = "--threads", description = "worker threads (default: all processors)")
    Integer threads;
    @Option(names = {"-o", "--output"}, required = true,
            description = "output PNG (with --batch B and/or --count C, B·C > 1: name-1.png ... name-(B·C).png, run by run)")
    Path output;
    @Option(names = "--force", description = "replace existing output files")
    boolean force;

    /** A LoRA to merge: its file and multiplier. */
    record LoraChoice(Path file, float multiplier) {}

    private List<LoraChoice> loras = List.of();

    /**
     * The LoRAs of {@code --lora file[:multiplier]} and of the prompt's {@code <lora:name:multiplier>} tags (looked up in
     * {@code --lora-dir}); a LoRA named both ways is merged once, with the prompt's multiplier.
     */
    List<LoraChoice> loraChoices() {
        java.util.Map<String, LoraChoice> byName = new java.util.LinkedHashMap<>();
        for (String spec : loraOptions) {
            Path file = Path.of(spec);
            float mult = 1f;
            int colon = spec.lastIndexOf(':');
            if (colon > 0 && !Files.exists(file)) {
                String tail = spec.substring(colon + 1);
                try {
                    mult = Float.parseFloat(tail);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--lora " + spec + ": '" + tail + "' is not a multiplier (use file:0.8)");
                }
                file = Path.of(spec.substring(0, colon));
            }
            if (!Float.isFinite(mult)) throw new IllegalArgumentException("--lora " + spec + ": the multiplier must be finite");
            if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--lora " + spec + ": no such file " + file);
            byName.put(io.sdj.models.lora.LoraFile.stem(file), new LoraChoice(file, mult));
        }
        for (io.sdj.models.pipeline.LoraTags.Tag t : io.sdj.models.pipeline.LoraTags.parse(prompt)) {
            LoraChoice given = byName.get(t.name());
            if (given != null) {
                byName.put(t.name(), new LoraChoice(given.file(), t.multiplier()));
                continue;
            }
            if (loraDir == null) throw new IllegalArgumentException("the prompt names <lora:" + t.name() + "> but no --lora-dir was given to find it in");
            if (!Files.isDirectory(loraDir)) throw new IllegalArgumentException("--lora-dir " + loraDir + " is not a folder");
            Path found = null;
            for (String ext : new String[]{".safetensors", ".pt", ".ckpt", ".pth", ".bin"}) {
                Path p = loraDir.resolve(t.name() + ext);
                if (p.normalize().getParent() != null && p.normalize().getParent().equals(loraDir.normalize()) && Files.isRegularFile(p)) { found = p; break; }
            }
            if (found == null) throw new IllegalArgumentException("the prompt names <lora:" + t.name() + "> but " + loraDir + " has no " + t.name() + ".safetensors (or .pt, .ckpt, .pth, .bin)");
            byName.put(t.name(), new LoraChoice(found, t.multiplier()));
        }
        return List.copyOf(byName.values());
    }

    /** Set by the Ctrl-C hook (and by tests) to stop the run within one step. */
    final Cancellation cancel = new Cancellation();

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        GenerationRequest.Builder req;
        List<Path> outputs;
        GenerationRequest first;
        try {
            req = settings();
            first = req.build();   // the request's own checks, before the model is loaded
            outputs = outputPaths();
            loras = loraChoices();
        } catch (IllegalArgumentException e) {
            err.println("sdj generate: " + e.getMessage());
            err.flush();
            return EXIT_BAD_INPUT;
        }
        if (threads != null) Parallel.setThreads(threads);
        // a fresh process per command: compile the kernels while the model loads (io.sdj.ops.KernelWarmup says why
        // this is not the library's default); -Dsdj.warmup=false keeps it off
        if (System.getProperty("sdj.warmup") == null) System.setProperty("sdj.warmup", "true");

        Txt2Img pipeline;
        try {
            var loader = Txt2Img.builder(ModelArgument.resolve(model, offline, err))
                    .taesd(taesd == null ? null : ModelArgument.resolve(taesd, offline, err))
                    .warnings(m -> { err.println("sdj generate: warning: " + m); err.flush(); });
            for (LoraChoice l : loras) loader.lora(l.file(), l.multiplier());
            pipeline = loader.load();
        } catch (CancellationException e) {
            err.println();
            err.println("sdj generate: " + e.getMessage());
            err.flush();
            return EXIT_CANCELLED;
        } catch (IllegalArgumentException | UnsupportedOperationException | HubException e) {
            err.println("sdj generate: " + e.getMessage());
            err.flush();
            return EXIT_BAD_MODEL;
        } catch (io.sdj.core.DirectMemory.ShortageException e) {
            err.println("sdj generate: " + e.getMessage());
            err.flush();
            return ExitCodes.OUT_OF_MEMORY;
        }
        // Ctrl-C: cancel, and let the run stop and remove its temporary files (up to 60 s)
        CtrlC ctrlC = CtrlC.onInterrupt(cancel::cancel, Duration.ofSeconds(60), "sdj-generate-cancel");
        List<Path> temps = new ArrayList<>();
        int written = 0;
        try (pipeline) {
            if (!pipeline.hasDecoder(first.decoder())) {
                err.println("sdj generate: model " + model + " has no " + first.decoder().cliName() + " decoder");
                return EXIT_BAD_MODEL;
            }
            for (int run = 0; run < count; run++) {
                long runSeed = first.seed() + run;
                if (count > 1) err.println("image " + (run + 1) + " of " + count + ", seed " + Long.toUnsignedString(runSeed));
                GenerationRequest r = req.seed(runSeed).listener(new ProgressBar(err, preview, previewEvery, temps)).cancellation(cancel)
                        .warnings(run == 0 ? m -> { err.println("sdj generate: warning: " + m); err.flush(); } : m -> { }).build();
                GenerationResult result = pipeline.generate(r);
                err.println();
                for (int i = 0; i < r.batch(); i++) {
                    Path target = outputs.get(run * r.batch() + i);
                    cancel.check("before writing " + target);
                    writeAtomically(target, PngWriter.encode(result.images().get(i), result.parameters(i)), force, temps);
                    written++;
                    err.println("wrote " + target);
                }
                if (preview != null) writeAtomically(preview, PngWriter.encode(result.images().get(0), "final image"), true, temps);
                err.println(String.format(Locale.ROOT, "%s, seed %s, %d×%d%s, %s", r.mode().key(), Long.toUnsignedString(r.seed()), r.width(), r.height(),
                        r.mode() == GenerationMode.TXT2IMG ? "" : ", strength " + r.effectiveStrength(), result.timings()));
                err.flush();
            }
            return 0;
        } catch (CancellationException e) {
            err.println();
            err.println("sdj generate: cancelled, " + (written == 0 ? "nothing written" : written + " of " + outputs.size() + " images written"));
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
            for (Path t : new ArrayList<>(temps)) {
                try {
                    Files.deleteIfExists(t);
                } catch (IOException ignored) {
                    // best effort: the temporary file is hidden and named after the target
                }
            }
            ctrlC.close();
        }
    }

    /**
     * Writes {@code png} to a hidden temporary file beside {@code target} (ordinary umask permissions) and renames it
     * into place: atomically replacing when {@code replace}, else refusing an existing file.
     */
    static void writeAtomically(Path target, byte[] png, boolean replace, List<Path> temps) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toUnsignedString(new SecureRandom().nextLong(), 36) + ".part");
        temps.add(tmp);
        Files.write(tmp, png, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        if (replace) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } else {
            Files.move(tmp, target);
        }
        temps.remove(tmp);
    }

    /**
     * The request from the options, every value checked (throws IllegalArgumentException naming the bad one); init
     * image and mask are read here. Without --width/--height the output takes the init image's size rounded down to
     * multiples of 8 (the pipeline warns when the image is resized).
     */
    GenerationRequest.Builder settings() {
        SamplerKind kind = sampler == null ? null : SamplerKind.parse(sampler);
        NamedSchedule named = null;
        if (schedule != null) {
            if (steps != null) throw new IllegalArgumentException("give either --steps or --schedule, not both");
            named = NamedSchedule.parse(schedule);
        }
        if (steps != null && steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        float g = cfg == null ? (named == NamedSchedule.ONE_STEP ? 1f : 7.5f) : cfg;
        if (Float.isNaN(g) || Float.isInfinite(g) || g < 0) throw new IllegalArgumentException("--cfg must be a finite number ≥ 0, got " + cfg);
        if (width != null && (width < 8 || width % 8 != 0)) throw new IllegalArgumentException("--width must be a positive multiple of 8, got " + width);
        if (height != null && (height < 8 || height % 8 != 0)) throw new IllegalArgumentException("--height must be a positive multiple of 8, got " + height);
        if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
        if (count < 1) throw new IllegalArgumentException("--count must be at least 1, got " + count);
        if (previewEvery < 1) throw new IllegalArgumentException("--preview-every must be at least 1, got " + previewEvery);
        if (initImage == null && strength != null) throw new IllegalArgumentException("--strength needs --init-image");
        if (initImage == null && mask != null) throw new IllegalArgumentException("--mask needs --init-image");
        if (strength != null && !(strength > 0 && strength <= 1)) throw new IllegalArgumentException("--strength must be in (0, 1], got " + strength);
        RgbImage init = initImage == null ? null : PngReader.read(initImage);
        RgbImage maskImage = mask == null ? null : PngReader.read(mask);
        int w = width != null ? width : 512, h = height != null ? height : 512;
        if (init != null) {
            int[] d = ImagePreprocessor.defaultSize(init, 8);
            if (d[0] < 8 || d[1] < 8) throw new IllegalArgumentException("init image " + initImage + " is smaller than 8×8");
            if (width == null) w = d[0];
            if (height == null) h = d[1];
        }
        if (threads != null && threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        DecoderKind dec = decoder == null ? (taesd != null ? DecoderKind.TAESD : DecoderKind.VAE) : DecoderKind.parse(decoder);
        if (taesd != null && !HubModels.isLocal(taesd) && HubReference.parse(taesd).isEmpty()) {
            throw new IllegalArgumentException("--taesd " + taesd + ": no such file or folder");
        }
        long s = parseSeed(seed);
        PromptSyntax syntax = PromptSyntax.parse(promptSyntax);
        if (syntax == PromptSyntax.A1111) {
            io.sdj.models.clip.PromptAttentionParser.parse(prompt);     // a bad weight is bad input, found before loading
            io.sdj.models.clip.PromptAttentionParser.parse(negative);
        }
        return GenerationRequest.builder().prompt(prompt).negativePrompt(negative).steps(steps).sampler(kind).schedule(named).guidance(g)
                .seed(s).size(w, h).decoder(dec).batch(batch).clipSkip(clipSkip).initImage(init).strength(strength).mask(maskImage)
                .promptSyntax(syntax).rng(RngKind.parse(rng)).vaeTiling(VaeTilingMode.parse(vaeTiling));
    }

    /**
     * A seed as torch's {@code manual_seed} takes it: an unsigned 64-bit value (up to 2^64 − 1) or a negative one,
     * which wraps to 2^64 + s; kept as the long with the same 64 bits. Null or -1 (A1111's "random") draws one.
     */
    static long parseSeed(String text) {
        if (text == null || text.strip().equals("-1")) return new SecureRandom().nextLong() >>> 1 >>> 31; // a 32-bit seed, as other SD tools pick
        String t = text.strip();
        try {
            return t.startsWith("-") ? Long.parseLong(t) : Long.parseUnsignedLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--seed must be an integer from -9223372036854775808 to 18446744073709551615 (-1: random), got "
                    + io.sdj.core.Quote.of(t));
        }
    }

    /** The files to write; each must be absent (or --force) and its folder must exist. */
    List<Path> outputPaths() {
        String name = output.getFileName() == null ? "" : output.getFileName().toString();
        if (!name.toLowerCase(Locale.ROOT).endsWith(".png")) throw new IllegalArgumentException("output " + output + " must end in .png");
        Path dir = output.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new IllegalArgumentException("output folder " + dir + " does not exist");
        List<Path> out = new ArrayList<>();
        int images = batch * count;
        if (images == 1) {
            out.add(output);
        } else {
            String stem = name.substring(0, name.length() - 4);
            for (int i = 1; i <= images; i++) out.add(output.resolveSibling(stem + "-" + i + ".png"));
        }
        for (Path p : out) {
            if (Files.isDirectory(p)) throw new IllegalArgumentException("output " + p + " is a folder");
            if (Files.exists(p) && !force) throw new IllegalArgumentException("output " + p + " already exists (use --force to replace it)");
        }
        if (preview != null) {
            String pn = preview.getFileName() == null ? "" : preview.getFileName().toString();
            if (!pn.toLowerCase(Locale.ROOT).endsWith(".png")) throw new IllegalArgumentException("preview " + preview + " must end in .png");
            Path pd = preview.toAbsolutePath().getParent();
            if (pd == null || !Files.isDirectory(pd)) throw new IllegalArgumentException("preview folder " + pd + " does not exist");
            for (Path p : out) {
                if (p.toAbsolutePath().normalize().equals(preview.toAbsolutePath().normalize())) {
                    throw new IllegalArgumentException("preview " + preview + " is also an output file");
                }
            }
            if (Files.isDirectory(preview)) throw new IllegalArgumentException("preview " + preview + " is a folder");
            if (Files.exists(preview) && !force) throw new IllegalArgumentException("preview " + preview + " already exists (use --force to replace it)");
        }
        return out;
    }

    /**
     * "step 3/20 [######..............] 1.42 s/step, 24 s left" on one rewritten stderr line; with a preview file,
     * the preview PNG rewritten atomically every {@code every} steps.
     */
    static final class ProgressBar implements io.sdj.models.pipeline.ProgressListener {
        private final PrintWriter err;
        private final Path preview;
        private final int every;
        private final List<Path> temps;

        ProgressBar(PrintWriter err) { this(err, null, 0, new ArrayList<>()); }

        ProgressBar(PrintWriter err, Path preview, int every, List<Path> temps) {
            this.err = err;
            this.preview = preview;
            this.every = preview == null ? 0 : every;
            this.temps = temps;
        }

        @Override
        public int previewEvery() { return every; }

        @Override
        public void onPreview(int step, int total, RgbImage image) {
            try {
                writeAtomically(preview, PngWriter.encode(image, "preview after step " + step + " of " + total), true, temps);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot write preview " + preview + ": " + e.getMessage(), e);
            }
        }

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
