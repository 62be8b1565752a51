package io.sdj.models.vae;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.models.config.ConfigValues;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a diffusers {@code AutoencoderKL} config that shape the network. Unknown keys are ignored
 * ({@code _class_name}, {@code force_upcast}, {@code sample_size} ...); values this implementation cannot run
 * (other block types, activations, norm types) are refused with a message naming the key.
 *
 * @param shiftFactor added after dividing by {@code scalingFactor} when going from UNet space to decoder input
 *                    (0 when the config has none or null, as for SD 1.x/2.x/XL)
 * @param sampleSize  the image size the VAE was trained on ({@code sample_size}, diffusers' default 32); only the
 *                    default tile size of {@link VaeTiling} depends on it
 */
public record VaeConfig(int inChannels, int outChannels, int latentChannels, List<Integer> blockOutChannels,
                        int layersPerBlock, int normNumGroups, float scalingFactor, float shiftFactor,
                        boolean midBlockAddAttention, boolean useQuantConv, boolean usePostQuantConv,
                        int sampleSize) {

    /** GroupNorm epsilon used everywhere in the diffusers VAE (resnets, attention, conv_norm_out). */
    public static final float NORM_EPS = 1e-6f;

    public VaeConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        if (blockOutChannels.isEmpty()) throw new IllegalArgumentException("VAE config: block_out_channels is empty");
        for (int c : blockOutChannels) {
            if (c < 1 || c % normNumGroups != 0) {
                throw new IllegalArgumentException("VAE config: block_out_channels " + blockOutChannels
                        + " must be positive multiples of norm_num_groups " + normNumGroups);
            }
        }
        if (inChannels < 1 || outChannels < 1 || latentChannels < 1 || layersPerBlock < 1 || normNumGroups < 1) {
            throw new IllegalArgumentException("VAE config: channel counts, layers_per_block and norm_num_groups must be ≥ 1, got in "
                    + inChannels + ", out " + outChannels + ", latent " + latentChannels + ", layers " + layersPerBlock
                    + ", groups " + normNumGroups);
        }
        if (sampleSize < 1) throw new IllegalArgumentException("VAE config: sample_size must be ≥ 1, got " + sampleSize);
        if (!(scalingFactor > 0) || Float.isInfinite(scalingFactor)) {
            throw new IllegalArgumentException("VAE config: scaling_factor must be a positive number, got " + scalingFactor);
        }
    }

    public int blockCount() { return blockOutChannels.size(); }

    public int channels(int block) { return blockOutChannels.get(block); }

    /** Spatial down-scaling factor between image and latent (2^(blocks-1), 8 for SD). */
    public int downscale() { return 1 << (blockOutChannels.size() - 1); }

    public static VaeConfig fromJson(JsonNode j) {
        if (j == null || !j.isObject()) throw new IllegalArgumentException("VAE config: expected a JSON object");
        String cls = j.path("_class_name").asText("AutoencoderKL");
        if (!cls.equals("AutoencoderKL")) {
            throw new IllegalArgumentException("VAE config: _class_name '" + cls + "' is not supported (only AutoencoderKL)");
        }
        List<Integer> blocks = new ArrayList<>();
        JsonNode b = j.path("block_out_channels");
        if (b.isMissingNode()) blocks.add(64); // diffusers default
        else {
            if (!b.isArray()) throw new IllegalArgumentException("VAE config: block_out_channels must be a list, got " + b);
            if (b.isEmpty() || b.size() > 16) throw new IllegalArgumentException("VAE config: block_out_channels must list 1 to 16 blocks, got " + b.size());
            for (int i = 0; i < b.size(); i++) {
                blocks.add(ConfigValues.checkInt(b.get(i), "VAE", "block_out_channels[" + i + "]", 1, ConfigValues.MAX_CHANNELS));
            }
        }
        checkTypes(j, "down_block_types", "DownEncoderBlock2D", blocks.size());
        checkTypes(j, "up_block_types", "UpDecoderBlock2D", blocks.size());
        String act = text(j, "act_fn", "silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw new IllegalArgumentException("VAE config: act_fn '" + act + "' is not supported (only silu)");
        }
        String norm = text(j, "norm_type", "group");
        if (!norm.equals("group")) {
            throw new IllegalArgumentException("VAE config: norm_type '" + norm + "' is not supported (only group)");
        }
        if (j.hasNonNull("latents_mean") || j.hasNonNull("latents_std")) {
            throw new IllegalArgumentException("VAE config: per-channel latents_mean/latents_std are not supported");
        }
        return new VaeConfig(
                ConfigValues.boundedInt(j, "VAE", "in_channels", 3, 1, 64),
                ConfigValues.boundedInt(j, "VAE", "out_channels", 3, 1, 64),
                ConfigValues.boundedInt(j, "VAE", "latent_channels", 4, 1, 1024),
                blocks,
                ConfigValues.boundedInt(j, "VAE", "layers_per_block", 1, 1, ConfigValues.MAX_LAYERS),
                ConfigValues.boundedInt(j, "VAE", "norm_num_groups", 32, 1, ConfigValues.MAX_CHANNELS),
                (float) j.path("scaling_factor").asDouble(0.18215),
                j.hasNonNull("shift_factor") ? (float) j.get("shift_factor").asDouble() : 0f,
                j.path("mid_block_add_attention").asBoolean(true),
                j.path("use_quant_conv").asBoolean(true),
                j.path("use_post_quant_conv").asBoolean(true),
                j.path("sample_size").canConvertToInt() ? j.get("sample_size").intValue() : 32);
    }

    /** Reads a config from a classpath resource, e.g. the bundled SD VAE topology {@code sd-vae.json}. */
    public static VaeConfig fromResource(String name) {
        try (InputStream in = VaeConfig.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalArgumentException("VAE config resource '" + name + "' not found");
            return fromJson(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("VAE config resource '" + name + "': " + e.getMessage(), e);
        }
    }

    /** SD 1.x/2.x VAE topology (block_out_channels [128, 256, 512, 512], 2 layers per block, 32 groups). */
    public static VaeConfig stableDiffusion() { return fromResource("sd-vae.json"); }

    private static String text(JsonNode j, String key, String dflt) {
        JsonNode n = j.get(key);
        return n == null || n.isNull() ? dflt : n.asText();
    }

    private static void checkTypes(JsonNode j, String key, String expected, int count) {
        JsonNode t = j.get(key);
        if (t == null || t.isNull()) return;
        if (!t.isArray() || t.size() != count) {
            throw new IllegalArgumentException("VAE config: " + key + " must list " + count + " block types (one per block_out_channels), got " + t);
        }
        for (JsonNode n : t) {
            if (!n.asText().equals(expected)) {
                throw new IllegalArgumentException("VAE config: " + key + " entry '" + n.asText() + "' is not supported (only " + expected + ")");
            }
        }
    }
}
