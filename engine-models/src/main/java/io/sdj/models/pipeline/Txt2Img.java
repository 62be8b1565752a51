package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.clip.ClipTextOutput;
import io.sdj.models.clip.ClipTokenizer;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.sampling.NoiseSource;
import io.sdj.models.sampling.Sampler;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.sampling.SchedulerConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Text-to-image generation as diffusers' {@code StableDiffusionPipeline} runs it: prompt (and negative prompt) →
 * CLIP embeddings → seeded Gaussian latents × init_noise_sigma → per step: scale the input, UNet on the batch
 * [negative, positive] when guidance > 1 (classifier-free guidance, uncond + g·(cond − uncond)) or on the positive
 * batch alone, sampler step → decode with the VAE (latents ÷ scaling factor, (x/2 + 0.5) clamped) or TAESD.
 * Models with a guidance embedding ({@code time_cond_proj_dim}, LCM) get it as {@code timestep_cond} and no CFG batch.
 * <p>Trace names: {@code prompt_embeds}, {@code negative_prompt_embeds}, {@code unet_input.i}, {@code unet_output.i},
 * {@code step_latents.i} (latents after step i), {@code decoded} (images in [0, 1], NCHW).
 * <p>One generation at a time per instance (calls are serialised).
 */
public final class Txt2Img implements AutoCloseable {
    private final PipelineParts parts;
    private final Workspace ws = new Workspace();

    public Txt2Img(PipelineParts parts) {
        this.parts = parts;
    }

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
        public GenerationRequest build() { return b.build(); }
        public GenerationResult generate() { return Txt2Img.this.generate(build()); }
    }

    /** Runs one generation; throws {@link java.util.concurrent.CancellationException} when cancelled. */
    public synchronized GenerationResult generate(GenerationRequest r) {
        LatentDecoder decoder = r.decoder() == DecoderKind.VAE ? parts.vae() : parts.taesd();
        if (decoder == null) {
            throw new IllegalArgumentException("model '" + parts.modelName() + "' has no " + r.decoder().cliName() + " decoder");
        }
        int n = r.batch(), c = parts.latentChannels();
        int f = parts.vaeScaleFactor();
        if (r.width() % f != 0 || r.height() % f != 0) {
            throw new IllegalArgumentException("width and height must be multiples of " + f + ", got " + r.width() + "×" + r.height());
        }
        int h = r.height() / f, w = r.width() / f;
        boolean embedGuidance = parts.timeCondProjDim() > 0;
        boolean cfg = r.classifierFreeGuidance() && !embedGuidance;
        Trace trace = r.trace();
        r.cancellation().check("before the text encoder");

        // 1. text embeddings
        long t0 = System.nanoTime();
        ClipTokenizer tok = parts.tokenizer();
        if (r.warnings() != null) {
            tok = tok.withTruncationListener(m -> r.warnings().accept(m));
        }
        int[] cond = tok.encode(r.prompt());
        ClipTokenizer negTok = r.warnings() == null ? tok : parts.tokenizer().withTruncationListener(m -> r.warnings().accept("negative " + m));
        int[][] ids = cfg ? new int[][]{negTok.encode(r.negativePrompt()), cond} : new int[][]{cond};
        ClipTextOutput enc = parts.textEncoder().forward(ws, ids, Trace.NONE);
        Tensor emb = enc.promptEmbeddings(r.clipSkip());           // [1 or 2, T, D]
        int tokens = emb.dim(1), dim = emb.dim(2), row = tokens * dim;
        float[] e = emb.data();
        if (cfg) {
            trace.record("negative_prompt_embeds", Tensor.of(java.util.Arrays.copyOfRange(e, 0, row), 1, tokens, dim));
            trace.record("prompt_embeds", Tensor.of(java.util.Arrays.copyOfRange(e, row, 2 * row), 1, tokens, dim));
        } else {
            trace.record("prompt_embeds", emb);
        }
        int rows = cfg ? 2 * n : n;
        Tensor context = Tensor.zeros(rows, tokens, dim);
        for (int i = 0; i < rows; i++) {
            int src = cfg && i >= n ? row : 0;   // [uncond × n, cond × n]; without CFG the single row is cond
            System.arraycopy(e, src, context.data(), i * row, row);
        }
        long textNanos = System.nanoTime() - t0;

        // 2. sampler, seeded latents
        NamedSchedule.Choice plan = plan(r);
        Sampler sampler = parts.samplers().create(plan.kind(), plan.config(), plan.steps());
        NoiseSource noise = parts.noise().apply(r.seed());
        float[] timesteps = sampler.timesteps();
        int numel = n * c * h * w;
        float[] init = r.initialLatents();
        if (init == null) {
            init = noise.next(n, c, h, w);
        } else if (init.length != numel) {
            throw new IllegalArgumentException("initial latents hold " + init.length + " values, expected " + numel
                    + " for [" + n + "," + c + "," + h + "," + w + "]");
        }
        Tensor latents = Tensor.zeros(n, c, h, w);
        float sigma = sampler.initNoiseSigma();
        for (int i = 0; i < numel; i++) latents.data()[i] = init[i] * sigma;
        Tensor timestepCond = embedGuidance
                ? Tensor.of(GuidanceEmbedding.of(r.guidance(), parts.timeCondProjDim(), rows), rows, parts.timeCondProjDim())
                : null;

        // 3. denoising loop
        long[] stepNanos = new long[timesteps.length];
        long loopStart = System.nanoTime();
        float[] ts = new float[rows];
        for (int i = 0; i < timesteps.length; i++) {
            r.cancellation().check("before step " + (i + 1) + " of " + timesteps.length);
            long s0 = System.nanoTime();
            Tensor scaled = sampler.scaleModelInput(latents, timesteps[i]);
            Tensor input = ws.take(rows, c, h, w);
            System.arraycopy(scaled.data(), 0, input.data(), 0, numel);
            if (cfg) System.arraycopy(scaled.data(), 0, input.data(), numel, numel);
            java.util.Arrays.fill(ts, timesteps[i]);
            trace.record("unet_input." + i, input);
            Tensor out = parts.denoiser().predict(ws, input, ts, context, timestepCond, Trace.NONE);
            ws.release(input);
            trace.record("unet_output." + i, out);
            Tensor guided = out;
            if (cfg) {
                guided = ws.take(n, c, h, w);
                float[] o = out.data(), g = guided.data();
                float scale = r.guidance();
                for (int k = 0; k < numel; k++) {
                    float u = o[k], t = o[numel + k];
                    g[k] = u + scale * (t - u);
                }
                ws.release(out);
            }
            latents = sampler.step(guided, timesteps[i], latents, noise).prevSample();
            ws.release(guided);
            trace.record("step_latents." + i, latents);
            stepNanos[i] = System.nanoTime() - s0;
            long elapsed = System.nanoTime() - loopStart;
            r.listener().onStep(i + 1, timesteps.length, Duration.ofNanos(elapsed), elapsed / 1e9 / (i + 1));
        }

        // 4. decode
        r.cancellation().check("before decoding");
        long d0 = System.nanoTime();
        Tensor images = decoder.decode(ws, latents, trace);
        long decodeNanos = System.nanoTime() - d0;
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
                for (int p = 0; p < plane; p++) nhwc[(b * plane + p) * 3 + ch] = pix[(b * 3 + ch) * plane + p];
            }
            out.add(RgbImage.fromNchw(pix, b, height, width));
        }
        ws.release(images);
        return new GenerationResult(out, nhwc, plan.kind(), timesteps, new Timings(textNanos, stepNanos, decodeNanos), r, parts.modelName());
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

    @Override
    public void close() throws Exception {
        ws.clear();
        if (parts.resources() != null) parts.resources().close();
    }
}
