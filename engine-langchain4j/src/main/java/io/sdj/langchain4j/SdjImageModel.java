package io.sdj.langchain4j;

import dev.langchain4j.data.image.Image;
import dev.langchain4j.model.image.ImageModel;
import dev.langchain4j.model.output.Response;
import io.sdj.models.pipeline.DecoderKind;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngReader;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.RgbImage;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.SamplerKind;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * sdj as a LangChain4j {@link ImageModel}: text-to-image ({@link #generate(String)}, {@link #generate(String, int)}),
 * img2img ({@link #edit(Image, String)}) and inpainting ({@link #edit(Image, Image, String)}), every image a PNG
 * (base64, {@code image/png}) carrying the A1111 {@code parameters} text chunk. Size, steps, sampler, guidance,
 * negative prompt, seed, decoder and the edit strength are fixed on the {@link #builder()}.
 * <p>Seeds: with a seed set, every call starts from it, and {@code generate(prompt, n)} gives images seed, seed + 1, …,
 * seed + n − 1 (as {@code sdj generate --count n}); without one each call draws a random seed. The seeds used are in
 * the response's metadata ({@code seed}, or {@code seeds} for n images), with the {@code parameters} text.
 * <p>Thread-safe: concurrent calls share the loaded weights ({@link Txt2Img} serves them concurrently).
 * {@link #close()} unmaps a model this object loaded; a pipeline given to the builder stays the caller's to close.
 */
public final class SdjImageModel implements ImageModel, AutoCloseable {
    private static final SecureRandom SEEDS = new SecureRandom();

    private final Txt2Img pipeline;
    private final boolean owned;
    private final Integer width, height, steps;
    private final SamplerKind sampler;
    private final float guidance;
    private final String negativePrompt;
    private final Long seed;
    private final DecoderKind decoder;
    private final double strength;

    private SdjImageModel(Builder b, Txt2Img pipeline, boolean owned) {
        this.pipeline = pipeline;
        this.owned = owned;
        this.width = b.width;
        this.height = b.height;
        this.steps = b.steps;
        this.sampler = b.sampler;
        this.guidance = b.guidance;
        this.negativePrompt = b.negativePrompt;
        this.seed = b.seed;
        this.decoder = b.decoder;
        this.strength = b.strength;
    }

    public static Builder builder() { return new Builder(); }

    /** The pipeline this model generates with. */
    public Txt2Img pipeline() { return pipeline; }

    @Override
    public Response<Image> generate(String prompt) {
        Generated g = run(prompt, seedOfCall(), null, null);
        return Response.from(g.image(), null, null, metadata("seed", g.seed(), g.parameters()));
    }

    /** {@code n} images with successive seeds (seed, seed + 1, …), one generation each. */
    @Override
    public Response<List<Image>> generate(String prompt, int n) {
        if (n < 1) throw new IllegalArgumentException("n must be at least 1, got " + n);
        long first = seedOfCall();
        List<Image> images = new ArrayList<>(n);
        List<String> seeds = new ArrayList<>(n), parameters = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Generated g = run(prompt, first + i, null, null);
            images.add(g.image());
            seeds.add(g.seed());
            parameters.add(g.parameters());
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("seeds", List.copyOf(seeds));
        meta.put("parameters", List.copyOf(parameters));
        return Response.from(List.copyOf(images), null, null, meta);
    }

    /**
     * img2img: {@code image} is noised to the builder's {@code strength} and denoised towards {@code prompt}. The
     * output has the builder's size when one was set, else the image's size rounded down to multiples of 8.
     */
    @Override
    public Response<Image> edit(Image image, String prompt) {
        Generated g = run(prompt, seedOfCall(), InputImages.rgb(image, "image"), null);
        return Response.from(g.image(), null, null, metadata("seed", g.seed(), g.parameters()));
    }

    /**
     * Inpainting: only where {@code mask} says is repainted. The mask is read as sdj, A1111 and diffusers read it
     * (white = repaint, black = keep) unless it has transparency: then transparent pixels are repainted and opaque
     * ones kept, as OpenAI's image edits read a mask.
     */
    @Override
    public Response<Image> edit(Image image, Image mask, String prompt) {
        Generated g = run(prompt, seedOfCall(), InputImages.rgb(image, "image"), InputImages.mask(mask));
        return Response.from(g.image(), null, null, metadata("seed", g.seed(), g.parameters()));
    }

    private long seedOfCall() {
        return seed != null ? seed : SEEDS.nextLong() & Long.MAX_VALUE;
    }

    private record Generated(Image image, String seed, String parameters) { }

    private Generated run(String prompt, long s, RgbImage init, RgbImage mask) {
        Objects.requireNonNull(prompt, "prompt");
        Txt2Img.Request r = pipeline.request().prompt(prompt).negativePrompt(negativePrompt).steps(steps)
                .guidance(guidance).seed(s).decoder(decoder).warnings(w -> { });
        if (sampler != null) r.sampler(sampler);
        if (width != null || init == null) r.size(width != null ? width : 512, height != null ? height : 512);
        if (init != null) r.initImage(init).strength(strength);
        if (mask != null) r.mask(mask);
        GenerationResult result = r.generate();
        String parameters = result.parameters(0);
        byte[] png = PngWriter.encode(result.images().get(0), parameters);
        Image image = Image.builder().base64Data(Base64.getEncoder().encodeToString(png)).mimeType("image/png").build();
        return new Generated(image, Long.toUnsignedString(s), parameters);
    }

    private static Map<String, Object> metadata(String key, String seed, String parameters) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(key, seed);
        m.put("parameters", parameters);
        return m;
    }

    /** Unmaps the model when this object loaded it ({@link Builder#model}); a pipeline given to the builder stays open. */
    @Override
    public void close() {
        if (owned) pipeline.close();
    }

    /**
     * Settings of every call. Defaults: 512×512 (edits: the input image's size), the model's own sampler and steps,
     * guidance 7.5, no negative prompt, a random seed per call, the VAE decoder, edit strength 0.8.
     */
    public static final class Builder {
        private String model;
        private Txt2Img pipeline;
        private Integer width, height, steps;
        private SamplerKind sampler;
        private float guidance = 7.5f;
        private String negativePrompt = "";
        private Long seed;
        private DecoderKind decoder = DecoderKind.VAE;
        private double strength = 0.8;

        /** A model file, diffusers folder or hub id, loaded by {@link #build()} and unmapped by {@link SdjImageModel#close()}. */
        public Builder model(String pathOrHubId) { model = pathOrHubId; return this; }

        public Builder model(Path path) { model = path.toString(); return this; }

        /** An already loaded pipeline (shared, e.g. with a server); the caller closes it. */
        public Builder pipeline(Txt2Img loaded) { pipeline = loaded; return this; }

        /** Output size in pixels, multiples of 8. */
        public Builder size(int w, int h) { width = w; height = h; return this; }

        public Builder width(int w) { width = w; if (height == null) height = 512; return this; }

        public Builder height(int h) { height = h; if (width == null) width = 512; return this; }

        public Builder steps(int v) { steps = v; return this; }

        public Builder sampler(SamplerKind v) { sampler = v; return this; }

        /** A sampler by name: {@code ddim}, {@code pndm}, {@code euler}, {@code euler-a}, {@code dpmpp-2m}, {@code lcm}, … */
        public Builder sampler(String name) { sampler = SamplerKind.parse(name); return this; }

        /** Classifier-free guidance scale (CFG); 1 or below runs without a negative batch. */
        public Builder guidance(double v) { guidance = (float) v; return this; }

        public Builder negativePrompt(String v) { negativePrompt = v == null ? "" : v; return this; }

        /** The first seed of every call (n images: seed, seed + 1, …); {@code null} = random per call. */
        public Builder seed(Long v) { seed = v; return this; }

        public Builder seed(long v) { seed = v; return this; }

        public Builder decoder(DecoderKind v) { decoder = Objects.requireNonNull(v, "decoder"); return this; }

        /** How much of an edited image is repainted, in (0, 1] (img2img and inpainting). */
        public Builder strength(double v) {
            if (!(v > 0 && v <= 1)) throw new IllegalArgumentException("strength must be in (0, 1], got " + v);
            strength = v;
            return this;
        }

        /**
         * The image model. Settings are checked here (a bad size, steps or guidance fails now, not on the first call).
         * @throws IllegalArgumentException naming the problem (no model, both a model and a pipeline, a bad value, an
         *         unreadable model)
         */
        public SdjImageModel build() {
            if ((model == null) == (pipeline == null)) {
                throw new IllegalArgumentException(model == null ? "give a model (path or hub id) or a loaded pipeline"
                        : "give either a model or a loaded pipeline, not both");
            }
            io.sdj.models.pipeline.GenerationRequest.builder().prompt("").negativePrompt(negativePrompt).steps(steps)
                    .guidance(guidance).size(width != null ? width : 512, height != null ? height : 512).decoder(decoder).build();
            Txt2Img p = pipeline != null ? pipeline : Txt2Img.load(model);
            if (!p.hasDecoder(decoder)) {
                if (pipeline == null) p.close();
                throw new IllegalArgumentException("model '" + p.modelName() + "' has no " + decoder.cliName() + " decoder");
            }
            return new SdjImageModel(this, p, pipeline == null);
        }
    }
}
