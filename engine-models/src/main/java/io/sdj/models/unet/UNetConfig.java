package io.sdj.models.unet;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The parts of a diffusers {@code UNet2DConditionModel} config (0.25 semantics) that this engine runs, with every
 * per-block value already expanded to one entry per down block (index i = {@code down_block_types[i]}).
 * Keys missing from the JSON take diffusers' constructor defaults. A key that is neither a diffusers 0.25.1
 * {@code UNet2DConditionModel} constructor argument ({@link #DIFFUSERS_KEYS}) nor an efficient-block key
 * ({@link EfficientBlocks#KEYS}) is refused, as are values that select features this engine does not implement
 * (class/addition embeddings, other block types, ...): {@link #fromJson} throws an error naming the key. Keys starting
 * with {@code _} ({@code _class_name}, {@code _diffusers_version}, {@code _name_or_path}, ...) are metadata.
 *
 * <p>{@code transformerLayers[i][j]} is the number of BasicTransformerBlocks of the Transformer2DModel after resnet j
 * of down block i, {@code upTransformerLayers[j][k]} the same for up block j (up order); both come from
 * {@code transformer_layers_per_block} (int, flat or nested list) and {@code reverse_transformer_layers_per_block}.
 * {@link #efficient} holds the MobileDiffusion / SnapFusion keys (all defaults = stock diffusers).
 *
 * <p>{@code numAttentionHeads[i]} is the number of heads of block i: diffusers 0.25 uses {@code attention_head_dim}
 * as the head COUNT when {@code num_attention_heads} is null (the SD 1.x / 2.x configs rely on this); the head size
 * is then channels / heads.
 */
public record UNetConfig(
        int inChannels,
        int outChannels,
        boolean centerInputSample,
        boolean flipSinToCos,
        float freqShift,
        List<String> downBlockTypes,
        String midBlockType,          // "UNetMidBlock2DCrossAttn" or null (no mid block)
        List<String> upBlockTypes,
        int[] blockOutChannels,
        int[] layersPerBlock,
        int downsamplePadding,
        float midBlockScaleFactor,
        int normNumGroups,
        float normEps,
        int[] crossAttentionDim,
        int[][] transformerLayers,
        int[][] upTransformerLayers,
        int[] numAttentionHeads,
        boolean useLinearProjection,
        boolean upcastAttention,
        float resnetOutScaleFactor,
        Integer timeCondProjDim,
        int timeEmbeddingDim,
        int convInKernel,
        int convOutKernel,
        Integer sampleSize,
        EfficientBlocks efficient) {

    public static final String CROSS_ATTN_DOWN = "CrossAttnDownBlock2D";
    public static final String DOWN = "DownBlock2D";
    public static final String CROSS_ATTN_UP = "CrossAttnUpBlock2D";
    public static final String UP = "UpBlock2D";
    public static final String MID_CROSS_ATTN = "UNetMidBlock2DCrossAttn";

    /** Configs shipped with the engine (resources beside this class): upstream configs of known UNets. */
    public static final List<String> BUNDLED = List.of("sd15", "bk-sdm-base", "bk-sdm-small", "bk-sdm-tiny",
            "bk-sdm-v2-base", "bk-sdm-v2-small", "bk-sdm-v2-tiny", "bk-sdm-v2-768-base", "bk-sdm-v2-768-small", "bk-sdm-v2-768-tiny");

    /**
     * A bundled upstream config by name ({@link #BUNDLED}): {@code sd15} (runwayml SD 1.5 unet), {@code bk-sdm-*}
     * (Nota-NetsPresso/BK-SDM {@code src/unet_config/bk_*}), {@code bk-sdm-v2-*} ({@code unet_config_v2-base}, 512 px
     * students of SD 2.1-base) and {@code bk-sdm-v2-768-*} ({@code unet_config_v2}, 768 px).
     */
    public static JsonNode bundled(String name) {
        try (var in = UNetConfig.class.getResourceAsStream(name + ".json")) {
            if (in == null) throw new IllegalArgumentException("no bundled UNet config '" + name + "' (known: " + BUNDLED + ")");
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("bundled UNet config '" + name + "': " + e.getMessage(), e);
        }
    }

    /** Every {@code UNet2DConditionModel.__init__} argument of diffusers 0.25.1 (the keys its saved config holds). */
    public static final java.util.Set<String> DIFFUSERS_KEYS = java.util.Set.of(
            "sample_size", "in_channels", "out_channels", "center_input_sample", "flip_sin_to_cos", "freq_shift",
            "down_block_types", "mid_block_type", "up_block_types", "only_cross_attention", "block_out_channels",
            "layers_per_block", "downsample_padding", "mid_block_scale_factor", "dropout", "act_fn", "norm_num_groups",
            "norm_eps", "cross_attention_dim", "transformer_layers_per_block", "reverse_transformer_layers_per_block",
            "encoder_hid_dim", "encoder_hid_dim_type", "attention_head_dim", "num_attention_heads", "dual_cross_attention",
            "use_linear_projection", "class_embed_type", "addition_embed_type", "addition_time_embed_dim", "num_class_embeds",
            "upcast_attention", "resnet_time_scale_shift", "resnet_skip_time_act", "resnet_out_scale_factor",
            "time_embedding_type", "time_embedding_dim", "time_embedding_act_fn", "timestep_post_act", "time_cond_proj_dim",
            "conv_in_kernel", "conv_out_kernel", "projection_class_embeddings_input_dim", "attention_type",
            "class_embeddings_concat", "mid_block_only_cross_attention", "cross_attention_norm", "addition_embed_type_num_heads");

    public int numBlocks() { return blockOutChannels.length; }

    /** Level of up block {@code j}: the down block at the same resolution (n − 1 − j). */
    public int upLevel(int j) { return numBlocks() - 1 - j; }

    /** Down block {@code i} has a Transformer2DModel after resnet {@code j}. */
    public boolean downAttention(int i, int j) {
        return downBlockTypes.get(i).equals(CROSS_ATTN_DOWN) && efficient.attentionPerLayer()[i][j];
    }

    /** Up block {@code j} (up order) has a Transformer2DModel after resnet {@code k}. */
    public boolean upAttention(int j, int k) {
        return upBlockTypes.get(j).equals(CROSS_ATTN_UP) && efficient.upAttentionPerLayer()[j][k];
    }

    /** Resnets of down block {@code i}; up block j has {@code layersPerBlock()[upLevel(j)] + 1}. */
    public int upLayers(int j) { return layersPerBlock[upLevel(j)] + 1; }

    /** The mid block is absent ({@code mid_block_type: null}, BK-SDM Small / Tiny). */
    public boolean hasMidBlock() { return midBlockType != null; }

    /** Parses a diffusers {@code config.json} of a {@code UNet2DConditionModel}. */
    public static UNetConfig fromJson(JsonNode j) {
        if (j == null || !j.isObject()) throw new IllegalArgumentException("UNet config: expected a JSON object, got " + j);
        for (var it = j.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.startsWith("_") && !DIFFUSERS_KEYS.contains(key) && !EfficientBlocks.KEYS.contains(key)) {
                throw new IllegalArgumentException("UNet config: unknown key '" + key + "' (neither a diffusers 0.25.1 "
                        + "UNet2DConditionModel argument nor an efficient-block key)");
            }
        }
        String cls = text(j, "_class_name", "UNet2DConditionModel");
        if (!cls.equals("UNet2DConditionModel")) refuse("_class_name", cls, "only UNet2DConditionModel is supported");

        requireNull(j, "class_embed_type");
        requireNull(j, "num_class_embeds");
        requireNull(j, "addition_embed_type");
        requireNull(j, "encoder_hid_dim");
        requireNull(j, "encoder_hid_dim_type");
        requireNull(j, "timestep_post_act");
        requireNull(j, "time_embedding_act_fn");
        requireNull(j, "cross_attention_norm");
        requireNull(j, "num_attention_heads");  // diffusers 0.25 itself refuses it ("not possible to define ... via num_attention_heads")
        requireValue(j, "time_embedding_type", "positional");
        requireValue(j, "resnet_time_scale_shift", "default");
        requireValue(j, "attention_type", "default");
        requireValue(j, "act_fn", "silu");
        requireFalse(j, "resnet_skip_time_act");
        requireFalse(j, "dual_cross_attention");
        requireFalse(j, "class_embeddings_concat");
        if (anyTrue(j.get("only_cross_attention"))) refuse("only_cross_attention", j.get("only_cross_attention"), "only false is supported");
        if (anyTrue(j.get("mid_block_only_cross_attention"))) refuse("mid_block_only_cross_attention", j.get("mid_block_only_cross_attention"), "only false/null is supported");

        List<String> down = strings(j, "down_block_types", List.of(CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, CROSS_ATTN_DOWN, DOWN));
        List<String> up = strings(j, "up_block_types", List.of(UP, CROSS_ATTN_UP, CROSS_ATTN_UP, CROSS_ATTN_UP));
        int[] channels = ints(j, "block_out_channels", new int[]{320, 640, 1280, 1280}, -1);
        int n = channels.length;
        if (n == 0) refuse("block_out_channels", j.get("block_out_channels"), "needs at least one block");
        if (down.size() != n) refuse("down_block_types", j.get("down_block_types"), "must have one entry per block_out_channels entry (" + n + ")");
        if (up.size() != n) refuse("up_block_types", j.get("up_block_types"), "must have one entry per block_out_channels entry (" + n + ")");
        for (String t : down) if (!t.equals(CROSS_ATTN_DOWN) && !t.equals(DOWN)) refuse("down_block_types", t, "supported: " + CROSS_ATTN_DOWN + ", " + DOWN);
        for (String t : up) if (!t.equals(CROSS_ATTN_UP) && !t.equals(UP)) refuse("up_block_types", t, "supported: " + CROSS_ATTN_UP + ", " + UP);

        String mid = j.has("mid_block_type") ? (j.get("mid_block_type").isNull() ? null : j.get("mid_block_type").asText()) : MID_CROSS_ATTN;
        if (mid != null && !mid.equals(MID_CROSS_ATTN)) refuse("mid_block_type", mid, "supported: " + MID_CROSS_ATTN + " or null");

        int[] layers = ints(j, "layers_per_block", new int[]{2}, n);
        int[] cross = ints(j, "cross_attention_dim", new int[]{1280}, n);
        int[] heads = ints(j, "attention_head_dim", new int[]{8}, n);
        for (int i = 0; i < n; i++) {
            if (channels[i] < 1) refuse("block_out_channels", channels[i], "must be positive");
            if (layers[i] < 1) refuse("layers_per_block", layers[i], "must be ≥ 1");
            if (heads[i] < 1 || channels[i] % heads[i] != 0) {
                refuse("attention_head_dim", heads[i], "is the number of heads (num_attention_heads is null) and must divide block_out_channels[" + i + "] = " + channels[i]);
            }
        }
        int groups = integer(j, "norm_num_groups", 32);
        for (int c : channels) if (c % groups != 0) refuse("norm_num_groups", groups, "must divide every block_out_channels entry, " + c + " is not a multiple");
        int padding = integer(j, "downsample_padding", 1);
        if (padding < 1) refuse("downsample_padding", padding, "only ≥ 1 (symmetric zero padding) is supported");
        int kin = integer(j, "conv_in_kernel", 3), kout = integer(j, "conv_out_kernel", 3);
        if (kin % 2 == 0) refuse("conv_in_kernel", kin, "must be odd");
        if (kout % 2 == 0) refuse("conv_out_kernel", kout, "must be odd");
        JsonNode tcp = j.get("time_cond_proj_dim");
        Integer timeCond = tcp == null || tcp.isNull() ? null : tcp.asInt();
        JsonNode ted = j.get("time_embedding_dim");
        int timeEmbed = ted == null || ted.isNull() ? channels[0] * 4 : ted.asInt();
        JsonNode ss = j.get("sample_size");
        Integer sample = ss == null || ss.isNull() || !ss.isNumber() ? null : ss.asInt();

        int[][] tDown = new int[n][], tUp = new int[n][];
        int midLayers = transformerLayers(j, down, up, layers, tDown, tUp);
        EfficientBlocks eff = EfficientBlocks.fromJson(j, down, up, layers, mid != null, midLayers);
        if (padding != 1) {
            for (int i = 0; i < n - 1; i++) {
                if (eff.separableConv()[i]) refuse("downsample_padding", padding, "a separable downsampler (conv_type of level " + i + ") has padding 1");
            }
        }

        return new UNetConfig(
                integer(j, "in_channels", 4),
                integer(j, "out_channels", 4),
                bool(j, "center_input_sample", false),
                bool(j, "flip_sin_to_cos", true),
                (float) number(j, "freq_shift", 0),
                List.copyOf(down), mid, List.copyOf(up),
                channels, layers, padding,
                (float) number(j, "mid_block_scale_factor", 1),
                groups,
                (float) number(j, "norm_eps", 1e-5),
                cross, tDown, tUp, heads,
                bool(j, "use_linear_projection", false),
                bool(j, "upcast_attention", false),
                (float) number(j, "resnet_out_scale_factor", 1.0),
                timeCond, timeEmbed, kin, kout, sample, eff);
    }

    /**
     * Fills the per-layer transformer counts from {@code transformer_layers_per_block} (int; one int per down block;
     * or one int-or-list per down block, then {@code reverse_transformer_layers_per_block} gives one int-or-list per
     * up block in up order) and returns diffusers' mid-block count: the last entry (its first element if a list).
     * Counts at positions of blocks without transformers are ignored.
     */
    private static int transformerLayers(JsonNode j, List<String> downTypes, List<String> upTypes, int[] layers, int[][] down, int[][] up) {
        int n = layers.length;
        String key = "transformer_layers_per_block", rkey = "reverse_transformer_layers_per_block";
        JsonNode t = j.get(key), r = j.get(rkey);
        boolean nested = false;
        int mid;
        if (t == null || t.isNull() || t.isIntegralNumber()) {
            int v = t == null || t.isNull() ? 1 : t.asInt();
            for (int i = 0; i < n; i++) down[i] = perLayer(key, t, v, layers[i], downTypes.get(i).equals(CROSS_ATTN_DOWN));
            mid = v;
        } else if (t.isArray() && t.size() == n) {
            for (int i = 0; i < n; i++) {
                JsonNode e = t.get(i);
                boolean used = downTypes.get(i).equals(CROSS_ATTN_DOWN);
                if (e.isArray()) {
                    nested = true;
                    down[i] = countList(key + "[" + i + "]", e, layers[i], used);
                } else if (e.isIntegralNumber()) {
                    down[i] = perLayer(key, e, e.asInt(), layers[i], used);
                } else {
                    refuse(key, t, "entries must be whole numbers or lists of them");
                }
            }
            JsonNode last = t.get(n - 1);
            mid = last.isArray() ? (last.isEmpty() ? 1 : last.get(0).asInt()) : last.asInt();
        } else {
            refuse(key, t, "expected a whole number or a list with one entry per down block (" + n + ")");
            return 0;
        }
        if (r == null || r.isNull()) {
            if (nested) refuse(rkey, r, "required when " + key + " has per-layer lists (one list per up block, in up order)");
            for (int jj = 0; jj < n; jj++) {
                int d = n - 1 - jj;
                up[jj] = perLayer(key, t, down[d].length == 0 ? 1 : firstOr(down[d], 1), layers[d] + 1, upTypes.get(jj).equals(CROSS_ATTN_UP));
            }
        } else {
            if (!r.isArray() || r.size() != n) refuse(rkey, r, "expected one entry per up block (" + n + ")");
            for (int jj = 0; jj < n; jj++) {
                JsonNode e = r.get(jj);
                int count = layers[n - 1 - jj] + 1;
                boolean used = upTypes.get(jj).equals(CROSS_ATTN_UP);
                if (e.isArray()) up[jj] = countList(rkey + "[" + jj + "]", e, count, used);
                else if (e.isIntegralNumber()) up[jj] = perLayer(rkey, e, e.asInt(), count, used);
                else refuse(rkey, r, "entries must be whole numbers or lists of them");
            }
        }
        return mid;
    }

    private static int firstOr(int[] a, int def) { return a.length == 0 ? def : a[0]; }

    private static int[] perLayer(String key, JsonNode node, int v, int count, boolean used) {
        if (used && v < 1) refuse(key, node, "transformer layer counts must be ≥ 1");
        int[] out = new int[count];
        Arrays.fill(out, v);
        return out;
    }

    private static int[] countList(String key, JsonNode e, int count, boolean used) {
        int[] out = new int[count];
        if (!used) return out;                                     // ignored position (DownBlock2D / UpBlock2D)
        if (e.size() != count) refuse(key, e, "must have one count per layer of that block (" + count + ")");
        for (int k = 0; k < count; k++) {
            JsonNode v = e.get(k);
            if (!v.isIntegralNumber() || v.asInt() < 1) refuse(key, e, "counts must be whole numbers ≥ 1");
            out[k] = v.asInt();
        }
        return out;
    }

    // ---- JSON helpers: a key that is absent or null takes the default ----

    static void refuse(String key, Object value, String why) {
        throw new IllegalArgumentException("UNet config: unsupported " + key + " = " + value + " (" + why + ")");
    }

    private static void requireNull(JsonNode j, String key) {
        JsonNode v = j.get(key);
        if (v != null && !v.isNull()) refuse(key, v, "only null is supported");
    }

    private static void requireValue(JsonNode j, String key, String expected) {
        JsonNode v = j.get(key);
        if (v != null && !v.isNull() && !v.asText().equals(expected)) refuse(key, v, "only \"" + expected + "\" is supported");
    }

    private static void requireFalse(JsonNode j, String key) {
        JsonNode v = j.get(key);
        if (v != null && !v.isNull() && v.asBoolean()) refuse(key, v, "only false is supported");
    }

    private static boolean anyTrue(JsonNode v) {
        if (v == null || v.isNull()) return false;
        if (v.isArray()) {
            for (JsonNode e : v) if (e.asBoolean()) return true;
            return false;
        }
        return v.asBoolean();
    }

    private static String text(JsonNode j, String key, String def) {
        JsonNode v = j.get(key);
        return v == null || v.isNull() ? def : v.asText();
    }

    private static boolean bool(JsonNode j, String key, boolean def) {
        JsonNode v = j.get(key);
        if (v == null || v.isNull()) return def;
        if (!v.isBoolean()) refuse(key, v, "expected true or false");
        return v.asBoolean();
    }

    private static double number(JsonNode j, String key, double def) {
        JsonNode v = j.get(key);
        if (v == null || v.isNull()) return def;
        if (!v.isNumber()) refuse(key, v, "expected a number");
        return v.asDouble();
    }

    private static int integer(JsonNode j, String key, int def) {
        JsonNode v = j.get(key);
        if (v == null || v.isNull()) return def;
        if (!v.isIntegralNumber()) refuse(key, v, "expected a whole number");
        return v.asInt();
    }

    private static List<String> strings(JsonNode j, String key, List<String> def) {
        JsonNode v = j.get(key);
        if (v == null || v.isNull()) return def;
        if (!v.isArray()) refuse(key, v, "expected a list of block type names");
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) out.add(e.asText());
        return out;
    }

    /** An int or a list of ints; an int (or a one-element default) is repeated {@code n} times; n &lt; 0 keeps the list as is. */
    private static int[] ints(JsonNode j, String key, int[] def, int n) {
        JsonNode v = j.get(key);
        int[] out;
        if (v == null || v.isNull()) {
            out = def;
        } else if (v.isIntegralNumber()) {
            out = new int[]{v.asInt()};
        } else if (v.isArray()) {
            out = new int[v.size()];
            for (int i = 0; i < out.length; i++) {
                if (!v.get(i).isIntegralNumber()) refuse(key, v, "expected whole numbers");
                out[i] = v.get(i).asInt();
            }
            if (n >= 0 && out.length != n) refuse(key, v, "a list must have one entry per block (" + n + ")");
            return out;
        } else {
            refuse(key, v, "expected a whole number or a list of them");
            return null;
        }
        if (n < 0) return out.clone();
        if (out.length == 1) {
            int[] r = new int[n];
            Arrays.fill(r, out[0]);
            return r;
        }
        return out;
    }

    @Override
    public String toString() {
        return "UNetConfig[blocks=" + Arrays.toString(blockOutChannels) + ", down=" + downBlockTypes + ", mid=" + midBlockType
                + ", up=" + upBlockTypes + ", layers=" + Arrays.toString(layersPerBlock) + ", heads=" + Arrays.toString(numAttentionHeads)
                + ", cross=" + Arrays.toString(crossAttentionDim) + ", linearProj=" + useLinearProjection + ", timeCond=" + timeCondProjDim
                + ", transformerLayers=" + Arrays.deepToString(transformerLayers) + ", up=" + Arrays.deepToString(upTransformerLayers)
                + (efficient.isStock() ? "" : ", " + efficient) + "]";
    }
}
