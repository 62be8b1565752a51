package io.sdj.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.pipeline.PipelineLoader;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.vae.RandomWeights;
import io.sdj.models.vae.VaeConfig;
import io.sdj.models.vae.VaeParameterShapes;
import io.sdj.weights.ModelSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A whole Stable Diffusion pipeline with deterministic synthetic weights, presented as a {@link ModelSource} so that
 * {@link PipelineLoader} assembles it exactly as it assembles a real model file: components {@code text_encoder}
 * (CLIP, {@link SyntheticTextEncoder}), {@code unet} ({@link SyntheticWeights}), {@code vae} (decoder and
 * post_quant_conv only), {@code taesd_decoder}, {@code scheduler} (SD 1.x's PNDM config) and
 * {@link SyntheticTokenizerFiles}. Weights are generated off-heap when the loader asks for a component and freed by
 * {@link #close()} (the pipeline closes its source when it is closed).
 */
public final class SyntheticPipelineModel implements ModelSource {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final long seed;
    private final JsonNode textEncoderConfig, unetConfig, vaeConfig, schedulerConfig;
    private final boolean taesd;
    private final Map<String, WeightSource> loaded = new LinkedHashMap<>();
    private final List<AutoCloseable> owned = new ArrayList<>();

    /**
     * @param vaeConfig a diffusers AutoencoderKL config, or null for a model without a VAE
     * @param taesd     whether the model carries a TAESD decoder (for 4 latent channels)
     */
    public SyntheticPipelineModel(String name, long seed, JsonNode textEncoderConfig, JsonNode unetConfig, JsonNode vaeConfig, boolean taesd) {
        this.name = Objects.requireNonNull(name, "name");
        this.seed = seed;
        this.textEncoderConfig = Objects.requireNonNull(textEncoderConfig, "textEncoderConfig");
        this.unetConfig = Objects.requireNonNull(unetConfig, "unetConfig");
        this.vaeConfig = vaeConfig;
        this.taesd = taesd;
        this.schedulerConfig = stableDiffusion1Scheduler();
    }

    /** BK-SDM-Tiny (bundled UNet config) with SD 1.x's ViT-L text encoder, SD VAE and TAESD. */
    public static SyntheticPipelineModel bkSdmTiny(long seed) {
        return new SyntheticPipelineModel("synthetic-bk-sdm-tiny", seed, SyntheticTextEncoder.vitL14Config(),
                UNetConfig.bundled("bk-sdm-tiny"), sdVaeConfig(), true);
    }

    /** Assembles the pipeline through {@link PipelineLoader} (closing the pipeline frees the weights). */
    public Txt2Img open() {
        return PipelineLoader.fromSource(this, name);
    }

    /** The bundled SD VAE config ({@code io/sdj/models/vae/sd-vae.json}). */
    public static JsonNode sdVaeConfig() {
        try (var in = VaeConfig.class.getResourceAsStream("sd-vae.json")) {
            if (in == null) throw new IllegalStateException("bundled resource io/sdj/models/vae/sd-vae.json is missing");
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("bundled sd-vae.json: " + e.getMessage(), e);
        }
    }

    /** SD 1.x's scheduler_config.json (PNDM, scaled_linear 0.00085 → 0.012, steps_offset 1, epsilon). */
    static JsonNode stableDiffusion1Scheduler() {
        ObjectNode o = JSON.createObjectNode();
        o.put("_class_name", "PNDMScheduler").put("beta_start", 0.00085).put("beta_end", 0.012)
                .put("beta_schedule", "scaled_linear").put("num_train_timesteps", 1000).put("set_alpha_to_one", false)
                .put("skip_prk_steps", true).put("steps_offset", 1).put("clip_sample", false)
                .put("prediction_type", "epsilon").put("timestep_spacing", "leading");
        return o;
    }

    @Override
    public String kind() { return "StableDiffusionPipeline"; }

    @Override
    public List<String> components() {
        List<String> c = new ArrayList<>(List.of("text_encoder", "unet"));
        if (vaeConfig != null) c.add("vae");
        if (taesd) c.add("taesd_decoder");
        c.add("scheduler");
        return c;
    }

    @Override
    public JsonNode config(String component) {
        return switch (component) {
            case "text_encoder" -> textEncoderConfig;
            case "unet" -> unetConfig;
            case "vae" -> require(vaeConfig, component);
            case "scheduler" -> schedulerConfig;
            case "taesd_decoder" -> require(taesd ? JSON.createObjectNode() : null, component);
            default -> throw new IllegalArgumentException(name + ": no component '" + component + "' (it has " + components() + ")");
        };
    }

    private JsonNode require(JsonNode n, String component) {
        if (n == null) throw new IllegalArgumentException(name + ": no component '" + component + "' (it has " + components() + ")");
        return n;
    }

    @Override
    public synchronized WeightSource weights(String component) {
        WeightSource w = loaded.get(component);
        if (w != null) return w;
        w = switch (component) {
            case "text_encoder" -> own(SyntheticTextEncoder.weights(textEncoderConfig, seed));
            case "unet" -> new SyntheticWeights(seed);
            case "vae" -> own(new RandomWeights(VaeParameterShapes.decoderOnly(VaeConfig.fromJson(require(vaeConfig, component))),
                    seed, "synthetic SD VAE decoder (seed " + seed + ")"));
            case "taesd_decoder" -> {
                if (!taesd) throw new IllegalArgumentException(name + ": no component 'taesd_decoder'");
                yield own(new RandomWeights(TaesdDecoder.parameterShapes(4), seed, "synthetic TAESD decoder (seed " + seed + ")"));
            }
            case "scheduler" -> EMPTY;
            default -> throw new IllegalArgumentException(name + ": no component '" + component + "' (it has " + components() + ")");
        };
        loaded.put(component, w);
        return w;
    }

    private RandomWeights own(RandomWeights w) {
        owned.add(w);
        return w;
    }

    @Override
    public Map<String, String> tokenizerFiles() { return SyntheticTokenizerFiles.files(); }

    @Override
    public JsonNode provenance() {
        return JSON.createObjectNode().put("source", "synthetic").put("seed", seed);
    }

    @Override
    public synchronized void close() {
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(name + ": cannot free synthetic weights: " + e.getMessage(), e);
            }
        }
        owned.clear();
        loaded.clear();
    }

    private static final WeightSource EMPTY = new WeightSource() {
        @Override public WeightTensor get(String n) { throw new IllegalArgumentException("scheduler has no weights (asked for '" + n + "')"); }
        @Override public boolean contains(String n) { return false; }
        @Override public Set<String> names() { return Set.of(); }
        @Override public String origin() { return "scheduler (no weights)"; }
    };

    @Override
    public String toString() { return name + " (synthetic, seed " + seed + ")"; }
}
