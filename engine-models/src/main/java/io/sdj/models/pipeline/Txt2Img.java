package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.sampling.NoiseSchedule;
import io.sdj.models.sampling.NoiseSource;
import io.sdj.models.sampling.OneStepSampler;
import io.sdj.models.sampling.Sampler;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.sampling.SchedulerConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The Stable Diffusion pipelines — text-to-image, img2img, inpainting — as compositions of the four stages diffusers'
 * pipelines share: encode prompt ({@link PromptEncoder}), prepare latents (from noise, or from an encoded image and a
 * start step), denoise ({@link DenoisingLoop}: guidance, optional inpainting channels or mask blending), decode.
 * Text-to-image as diffusers' {@code StableDiffusionPipeline} runs it: prompt (and negative prompt) →
 * CLIP embeddings → seeded Gaussian latents × init_noise_sigma → per step: scale the input, UNet on the batch
 * [negative, positive] when guidance > 1 (classifier-free guidance, uncond + g·(cond − uncond)) or on the positive
 * batch alone, sampler step → decode with the VAE (latents ÷ scaling factor, (x/2 + 0.5) clamped) or TAESD.
 * Models with a guidance embedding ({@code time_cond_proj_dim}, LCM) get it as {@code timestep_cond} and no CFG batch.
 * <p>Trace names: {@code prompt_embeds}, {@code negative_prompt_embeds}, {@code unet_input.i}, {@code unet_output.i},
 * {@code step_latents.i} (latents after step i), {@code decoded} (images in [0, 1], NCHW).
 * <p>Thread safety: one loaded pipeline serves concurrent {@link #generate} calls from many threads. The weights are
 * shared and read-only; each generation takes its own activation workspace (a pool keeps one per concurrent caller
 * for reuse), so calls are not serialised and give the same bytes as sequential runs. Only one call at a time fans out
 * over {@link io.sdj.core.Parallel}'s worker threads; a concurrent call runs on its own thread. {@link #close()} refuses
 * new generations and waits for the running ones before it unmaps the weights.
 */
public final class Txt2Img implements AutoCloseable {
    private final PipelineParts parts;
    /** Idle workspaces, one per generation that ran concurrently so far (reused, never shared by two calls). */
    private final java.util.concurrent.ConcurrentLinkedDeque<Workspace> idleWorkspaces = new java.util.concurrent.ConcurrentLinkedDeque<>();
    private final Object lifecycle = new Object();
    private int running;          // generations in progress, guarded by lifecycle
    private boolean closed;       // guarded by lifecycle
    private final PromptEncoder promptEncoder;
    private final List<AppliedLora> loras;

    public Txt2Img(PipelineParts parts) {
        this(parts, new ClipPromptEncoder(parts));
    }

    /** A pipeline whose stage 1 is {@code promptEncoder} (e.g. a weighted-prompt encoder). */
    public Txt2Img(PipelineParts parts, PromptEncoder promptEncoder) {
        this(parts, promptEncoder, List.of());
    }

    /** A pipeline whose weights have {@code loras} merged (recorded in the PNG parameters). */
    public Txt2Img(PipelineParts parts, PromptEncoder promptEncoder, List<AppliedLora> loras) {
        this.parts = parts;
        this.promptEncoder = promptEncoder;
        this.loras = List.copyOf(loras);
    }

    /** As {@link #Txt2Img(PipelineParts, PromptEncoder, List)} with the CLIP prompt encoder. */
    public Txt2Img(PipelineParts parts, List<AppliedLora> loras) {
        this(parts, new ClipPromptEncoder(parts), loras);
    }

    /**
     * A loader with options: {@code Txt2Img.builder(model).lora(file, 0.8).taesd(taesdFile).load()} merges LoRAs
     * into the weights as they are loaded and attaches a standalone TAESD decoder.
     */
    public static PipelineLoader.Builder builder(java.nio.file.Path model) {
        return new PipelineLoader.Builder(model);
    }

    /** The LoRAs merged into this pipeline's weights. */
    public List<AppliedLora> loras() { return loras; }

    /** Loads a model: an sdj flat model file or a diffusers pipeline folder (see {@link PipelineLoader}). */
    public static Txt2Img load(java.nio.file.Path model) {
        return PipelineLoader.load(model);
    }

    /** A model path or hub id ({@code org/name[@revision]}), pulled into the Hugging Face cache on first use. */
    public static Txt2Img load(String modelOrId) {
        return PipelineLoader.load(modelOrId);
    }

    public PipelineParts parts() { return parts; }

    public String modelName() { return parts.modelName(); }

    /** Whether this model can decode with {@code kind}. */
    public boolean hasDecoder(DecoderKind kind) {
        return (kind == DecoderKind.VAE ? parts.vae() : parts.taesd()) != null;
    }

    /** A request builder bound to this pipeline: {@code txt2img.request().prompt("...").steps(8).generate()}. */
    public Request request() { return new Request(); }

    /** A {@link GenerationRequest.Builder} whose {@link #generate()} runs on this pipeline. */
    public final class Request {
        private final GenerationRequest.Builder b = GenerationRequest.builder();

        public Request prompt(String v) { b.prompt(v); return this; }
        public Request negativePrompt(String v) { b.negativePrompt(v); return this; }
        public Request steps(Integer v) { b.steps(v); return this; }
        public Request sampler(SamplerKind v) { b.sampler(v); return this; }
        public Request schedule(NamedSchedule v) { b.schedule(v); return this; }
        public Request guidance(float v) { b.guidance(v); return this; }
        public Request seed(long v) { b.seed(v); return this; }
        public Request size(int w, int h) { b.size(w, h); return this; }
        public Request decoder(DecoderKind v) { b.decoder(v); return this; }
        public Request batch(int v) { b.batch(v); return this; }
        public Request clipSkip(int v) { b.clipSkip(v); return this; }
        public Request initialLatents(float[] v) { b.initialLatents(v); return this; }
        public Request listener(ProgressListener v) { b.listener(v); return this; }
        public Request cancellation(Cancellation v) { b.cancellation(v); return this; }
        public Request trace(Trace v) { b.trace(v); return this; }
        public Request warnings(java.util.function.Consumer<String> v) { b.warnings(v); return this; }
        public Request initImage(RgbImage v) { b.initImage(v); return this; }
        public Request strength(double v) { b.strength(v); return this; }
        public Request mask(RgbImage v) { b.mask(v); return this; }
        public Request promptSyntax(io.sdj.models.clip.PromptSyntax v) { b.promptSyntax(v); return this; }
        public Request rng(io.sdj.models.sampling.RngKind v) { b.rng(v); return this; }
        public Request vaeTiling(VaeTilingMode v) { b.vaeTiling(v); return this; }
        public GenerationRequest build() { return b.build(); }
        public GenerationResult generate() { return Txt2Img.this.generate(build()); }
    }

    /**
     * Runs one generation; throws {@link java.util.concurrent.CancellationException} when cancelled. The mode is the
     * request's ({@link GenerationRequest#mode()}); every mode is the same four stages: {@link #encodePrompt},
     * latents ({@link #latentsFromNoise}, {@link #latentsFromImage}, {@link #inpaintingLatents}), {@link DenoisingLoop}
     * and {@link #decode}.
     */
    public GenerationResult generate(GenerationRequest r) {
        synchronized (lifecycle) {
            if (closed) throw new IllegalStateException("model '" + parts.modelName() + "' is closed: load it again to generate");
            running++;
        }
        Workspace ws = idleWorkspaces.pollFirst();
        if (ws == null) ws = new Workspace();
        try {
            return generate(ws, r);
        } finally {
            idleWorkspaces.addFirst(ws);
            synchronized (lifecycle) {
                running--;
                lifecycle.notifyAll();
            }
        }
    }

    private GenerationResult generate(Workspace ws, GenerationRequest r) {
        LatentDecoder decoder = r.decoder() == DecoderKind.VAE ? parts.vae() : parts.taesd();
        if (decoder == null) {
            throw new IllegalArgumentException("model '" + parts.modelName() + "' has no " + r.decoder().cliName() + " decoder");
        }
        GenerationMode mode = r.mode();
        int n = r.batch(), c = parts.latentChannels();
        int f = parts.vaeScaleFactor();
        if (r.width() % f != 0 || r.height() % f != 0) {
            throw new IllegalArgumentException("width and height must be multiples of " + f + ", got " + r.width() + "×" + r.height());
        }
        if (parts.inpaintingDenoiser() && mode != GenerationMode.INPAINT) {
            throw new IllegalArgumentException("model '" + parts.modelName() + "' is an inpainting model (its UNet takes "
                    + parts.denoiserInChannels() + " channels): give an init image and a mask");
        }
        LatentEncoder encoder = null;
        if (mode != GenerationMode.TXT2IMG) {
            encoder = r.decoder() == DecoderKind.TAESD && parts.taesdEncoder() != null ? parts.taesdEncoder() : parts.vaeEncoder();
            if (encoder == null) {
                throw new IllegalArgumentException("model '" + parts.modelName() + "' has no VAE encoder, needed to encode the init image");
            }
            RgbImage img = r.initImage();
            if ((img.width() != r.width() || img.height() != r.height()) && r.warnings() != null) {
                int[] d = ImagePreprocessor.defaultSize(img, f);
                boolean rounded = d[0] == r.width() && d[1] == r.height();
                r.warnings().accept("init image " + img.width() + "×" + img.height() + " is resized to " + r.width() + "×" + r.height()
                        + (rounded ? " (its size rounded down to multiples of " + f + ", as diffusers does)" : " (Lanczos, as diffusers)"));
            }
        }
        int h = r.height() / f, w = r.width() / f;
        boolean embedGuidance = parts.timeCondProjDim() > 0;
        boolean cfg = r.classifierFreeGuidance() && !embedGuidance;
        r.cancellation().check("before the text encoder");

        // 1. text embeddings
        long t0 = System.nanoTime();
        Tensor context = encodePrompt(ws, r, cfg);
        long textNanos = System.nanoTime() - t0;

        // 2. schedule, seeded latents (the generator's draws in diffusers' order)
        NamedSchedule.Choice plan = plan(r);
        Sampler sampler = createSampler(plan, r);
        int start = firstStep(plan, sampler, r);
        NoiseSource noise = noise(r);
        Prepared p = switch (mode) {
            case TXT2IMG -> new Prepared(latentsFromNoise(r, sampler, noise, n, c, h, w), null, null);
            case IMG2IMG -> new Prepared(latentsFromImage(ws, r, encoder, sampler, start, noise, n, c, h, w), null, null);
            case INPAINT -> inpaintingLatents(ws, r, encoder, sampler, start, noise, n, c, h, w);
        };
        int rows = cfg ? 2 * n : n;
        Tensor timestepCond = embedGuidance
                ? Tensor.of(GuidanceEmbedding.of(r.guidance(), parts.timeCondProjDim(), rows), rows, parts.timeCondProjDim())
                : null;

        // 3. denoising loop
        float[] all = sampler.timesteps();
        float[] timesteps = java.util.Arrays.copyOfRange(all, start, all.length);
        long[] stepNanos = new long[timesteps.length];
        Tensor latents = DenoisingLoop.run(ws, parts, r, sampler, start, p.latents(), context, timestepCond, cfg, noise,
                p.extra(), p.blend(), stepNanos);

        // 4. decode
        r.cancellation().check("before decoding");
        long d0 = System.nanoTime();
        Decoded images = decode(ws, r, decoder, latents);
        long decodeNanos = System.nanoTime() - d0;
        return new GenerationResult(images.images(), images.nhwc(), plan.kind(), timesteps,
                new Timings(textNanos, stepNanos, decodeNanos), r, parts.modelName(), plan.steps(), loras);
    }

    /**
     * The run's seeded generator: the parts' CPU generator (diffusers' {@code torch.Generator("cpu")}, or what a test
     * injects) or torch's CUDA Philox stream. One generator gives every draw of the run, in diffusers' order.
     */
    private NoiseSource noise(GenerationRequest r) {
        return r.rng() == io.sdj.models.sampling.RngKind.CPU ? parts.noise().apply(r.seed()) : r.rng().create(r.seed());
    }

    /** The check between VAE tiles: a cancelled run stops before the next tile. */
    private static Runnable betweenTiles(GenerationRequest r) {
        return () -> r.cancellation().check("between VAE tiles");
    }

    /** Starting latents, and the inpainting extras (9-channel input, or 4-channel blending), of one run. */
    private record Prepared(Tensor latents, DenoisingLoop.ExtraChannels extra, DenoisingLoop.Blend blend) { }

    private record Decoded(List<RgbImage> images, float[] nhwc) { }

    /**
     * Stage 1: the prompt encoder's [rows, T, D] context. A1111's LoRA tags ({@code <lora:name:m>}) choose LoRAs at load
     * time and are removed from the prompt first; a tag naming a LoRA that was not merged (or at another multiplier) is
     * warned about.
     */
    Tensor encodePrompt(Workspace ws, GenerationRequest r, boolean cfg) {
        List<LoraTags.Tag> tags = LoraTags.parse(r.prompt());
        if (tags.isEmpty()) return promptEncoder.encode(ws, r, cfg);
        if (r.warnings() != null) {
            for (LoraTags.Tag t : tags) {
                AppliedLora l = loras.stream().filter(a -> a.name().equals(t.name())).findFirst().orElse(null);
                if (l == null) r.warnings().accept("prompt names <lora:" + t.name() + "> but no such LoRA was merged when the model was loaded");
                else if (l.multiplier() != t.multiplier()) r.warnings().accept("prompt gives <lora:" + t.name() + "> multiplier " + t.multiplier()
                        + " but it was merged at " + l.multiplier());
            }
        }
        return promptEncoder.encode(ws, r.withPrompt(LoraTags.strip(r.prompt())), cfg);
    }

    /** Stage 2, text-to-image: one Gaussian draw [n, C, h, w] (or the request's latents) × init_noise_sigma. */
    private static Tensor latentsFromNoise(GenerationRequest r, Sampler sampler, NoiseSource noise, int n, int c, int h, int w) {
        float[] init = startingNoise(r, noise, n, c, h, w);
        Tensor latents = Tensor.zeros(n, c, h, w);
        float sigma = sampler.initNoiseSigma();
        for (int i = 0; i < init.length; i++) latents.data()[i] = init[i] * sigma;
        return latents;
    }

    private static float[] startingNoise(GenerationRequest r, NoiseSource noise, int n, int c, int h, int w) {
        int numel = n * c * h * w;
        float[] init = r.initialLatents();
        if (init == null) return noise.next(n, c, h, w);
        if (init.length != numel) {
            throw new IllegalArgumentException("initial latents hold " + init.length + " values, expected " + numel
                    + " for [" + n + "," + c + "," + h + "," + w + "]");
        }
        return init;
    }

    /**
     * Stage 2, img2img: the init image encoded (the VAE's sample noise is the generator's first draw), repeated for
     * the batch, then noised to the first executed step with the second draw ({@code add_noise}, no init_noise_sigma).
     */
    private Tensor latentsFromImage(Workspace ws, GenerationRequest r, LatentEncoder encoder, Sampler sampler, int start, NoiseSource noise,
                                    int n, int c, int h, int w) {
        Tensor image = ImagePreprocessor.normalized(r.initImage(), r.width(), r.height());
        r.trace().record("image_normalized", image);
        Tensor init = repeat(encoder.encode(ws, image, noise, "image", r.vaeTiling(), betweenTiles(r), new CancellableTrace(r.trace(), r.cancellation(), "encoding the init image")), n);
        r.trace().record("init_latents", init);
        Tensor noisy = LatentNoising.addNoise(sampler, init, startingNoise(r, noise, n, c, h, w), start);
        r.trace().record("noisy_init_latents", noisy);
        return noisy;
    }

    /**
     * Stage 2, inpainting, in diffusers' draw order: the init image's latents (4-channel UNet, or strength &lt; 1)
     * first, then the starting noise (× init_noise_sigma at strength 1, else added to the image latents), then the
     * masked image's latents (drawn even when a 4-channel UNet does not use them). The mask is binarised and taken at
     * every 8th pixel (nearest) for the latents.
     */
    private Prepared inpaintingLatents(Workspace ws, GenerationRequest r, LatentEncoder encoder, Sampler sampler, int start, NoiseSource noise,
                                       int n, int c, int h, int w) {
        Trace trace = r.trace();
        Tensor image = ImagePreprocessor.normalized(r.initImage(), r.width(), r.height());
        Tensor maskCondition = ImagePreprocessor.maskCondition(r.mask(), r.width(), r.height());
        trace.record("image_normalized", image);
        trace.record("mask_condition", maskCondition);
        boolean fullStrength = r.effectiveStrength() == 1.0;
        boolean nineChannel = parts.inpaintingDenoiser();
        Tensor imageLatents = null;
        if (!nineChannel || !fullStrength) {
            imageLatents = repeat(encoder.encode(ws, image, noise, "image", r.vaeTiling(), betweenTiles(r), new CancellableTrace(trace, r.cancellation(), "encoding the init image")), n);
            trace.record("image_latents", imageLatents);
        }
        float[] initial = startingNoise(r, noise, n, c, h, w);
        Tensor latents;
        if (fullStrength) {
            latents = Tensor.zeros(n, c, h, w);
            float sigma = sampler.initNoiseSigma();
            for (int i = 0; i < initial.length; i++) latents.data()[i] = initial[i] * sigma;
        } else {
            latents = LatentNoising.addNoise(sampler, imageLatents, initial, start);
        }
        trace.record("initial_latents", latents);
        int bigW = r.width(), f = parts.vaeScaleFactor();
        float[] mc = maskCondition.data();
        Tensor masked = Tensor.zeros(1, 3, r.height(), bigW);
        int plane = r.height() * bigW;
        for (int ch = 0; ch < 3; ch++) {
            for (int q = 0; q < plane; q++) masked.data()[ch * plane + q] = mc[q] < 0.5f ? image.data()[ch * plane + q] : 0f;
        }
        trace.record("masked_image", masked);
        Tensor maskedLatents = repeat(encoder.encode(ws, masked, noise, "masked_image", r.vaeTiling(), betweenTiles(r), new CancellableTrace(trace, r.cancellation(), "encoding the masked image")), n);
        trace.record("masked_image_latents", maskedLatents);
        float[] ml = new float[h * w];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) ml[i * w + j] = mc[(i * f) * bigW + j * f];
        }
        Tensor maskLatents = repeat(Tensor.of(ml, 1, 1, h, w), n);
        trace.record("mask_latents", Tensor.of(ml, 1, 1, h, w));
        if (nineChannel) return new Prepared(latents, new DenoisingLoop.ExtraChannels(maskLatents, maskedLatents), null);
        return new Prepared(latents, null, new DenoisingLoop.Blend(maskLatents, imageLatents, initial));
    }

    /** [1, ...] repeated to [n, ...]. */
    private static Tensor repeat(Tensor x, int n) {
        if (n == 1) return x;
        int[] shape = x.shape();
        int per = x.numel();
        shape[0] = n;
        float[] out = new float[n * per];
        for (int b = 0; b < n; b++) System.arraycopy(x.data(), 0, out, b * per, per);
        return Tensor.of(out, shape);
    }

    /** Stage 4: the decoder's images, as 8-bit images and as NHWC floats in [0, 1]. */
    private Decoded decode(Workspace ws, GenerationRequest r, LatentDecoder decoder, Tensor latents) {
        int n = latents.dim(0);
        Trace trace = r.trace();
        Tensor images = decoder.decode(ws, latents, r.vaeTiling(), betweenTiles(r), new CancellableTrace(trace, r.cancellation(), "decoding"));
        int height = r.height(), width = r.width();
        if (images.rank() != 4 || images.dim(0) != n || images.dim(1) != 3 || images.dim(2) != height || images.dim(3) != width) {
            throw new IllegalStateException("decoder returned " + images + ", expected [" + n + ", 3, " + height + ", " + width + "]");
        }
        trace.record("decoded", images);
        float[] pix = images.data();
        float[] nhwc = new float[n * height * width * 3];
        List<RgbImage> out = new ArrayList<>(n);
        int plane = height * width;
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < 3; ch++) {
                for (int q = 0; q < plane; q++) nhwc[(b * plane + q) * 3 + ch] = pix[(b * 3 + ch) * plane + q];
            }
            out.add(RgbImage.fromNchw(pix, b, height, width));
        }
        ws.release(images);
        return new Decoded(out, nhwc);
    }

    /**
     * The sampler of a run. Text-to-image and full strength: the plan's. The 1-step schedule below full strength runs
     * its single evaluation at timestep round(strength · T) − 1 (T = training timesteps: 0.5 → 499), i.e. the last
     * step of trailing ⌈1/strength⌉ steps, as SD-Turbo's img2img is run.
     */
    private Sampler createSampler(NamedSchedule.Choice plan, GenerationRequest r) {
        double s = r.effectiveStrength();
        if (plan.kind() == SamplerKind.ONE_STEP && s < 1.0) {
            SchedulerConfig cfg = plan.config().forKind(SamplerKind.ONE_STEP);
            int t = Math.max(0, (int) Math.round(s * cfg.numTrainTimesteps()) - 1);
            return new OneStepSampler(cfg, NoiseSchedule.of(cfg), OneStepSampler.InputScaling.SIGMA, t);
        }
        return parts.samplers().create(plan.kind(), plan.config(), plan.steps());
    }

    /**
     * The index of the first executed timestep, as diffusers' {@code get_timesteps}: of N scheduled steps the last
     * min(int(N · strength), N) run (at least one: a strength too small for any step runs the last step alone); the
     * samplers' schedules with a repeated timestep (PNDM) are cut at the same index.
     */
    static int firstStep(NamedSchedule.Choice plan, Sampler sampler, GenerationRequest r) {
        if (r.mode() == GenerationMode.TXT2IMG) return 0;
        int total = sampler.timesteps().length;
        if (sampler.kind() == SamplerKind.ONE_STEP) return 0;
        int steps = plan.steps();
        int run = Math.max(1, Math.min((int) (steps * r.effectiveStrength()), steps));
        return Math.max(0, Math.min(steps - run, total - 1));
    }

    /**
     * The sampler, steps and scheduler config a request runs with: a named schedule decides both (an explicit sampler
     * still overrides its kind); otherwise the model's default recipe fills in what the request leaves open.
     */
    NamedSchedule.Choice plan(GenerationRequest r) {
        SchedulerConfig config = parts.schedulerConfig();
        boolean lcmModel = parts.timeCondProjDim() > 0;
        if (r.schedule() != null) {
            NamedSchedule.Choice c = r.schedule().choose(config, lcmModel);
            return r.sampler() == null ? c : new NamedSchedule.Choice(r.sampler(), c.steps(), c.config());
        }
        NamedSchedule.Choice d = NamedSchedule.DEFAULT.choose(config, lcmModel);
        SamplerKind kind = r.sampler() != null ? r.sampler() : d.kind();
        int steps = r.steps() != null ? r.steps() : kind == SamplerKind.ONE_STEP ? 1 : d.steps();
        return new NamedSchedule.Choice(kind, steps, config);
    }

    /**
     * Refuses new generations, waits for the running ones to finish (cancel them first for a quick close), then frees
     * the workspaces and unmaps the model file. Closing twice does nothing; an error while unmapping is rethrown
     * unchecked.
     */
    @Override
    public void close() {
        boolean interrupted = false;
        synchronized (lifecycle) {
            if (closed) return;
            closed = true;
            while (running > 0) {
                try {
                    lifecycle.wait();
                } catch (InterruptedException e) {
                    interrupted = true;   // the weights must stay mapped while a generation reads them: keep waiting
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        for (Workspace w; (w = idleWorkspaces.pollFirst()) != null; ) w.clear();
        if (parts.resources() == null) return;
        try {
            parts.resources().close();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("closing model " + parts.modelName() + ": " + e.getMessage(), e);
        }
    }
}
