package io.sdj.models.unet;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static io.sdj.models.unet.UNetConfig.CROSS_ATTN_DOWN;
import static io.sdj.models.unet.UNetConfig.CROSS_ATTN_UP;
import static io.sdj.models.unet.UNetConfig.refuse;

/**
 * The MobileDiffusion / SnapFusion UNet changes (golden README, section "Efficient UNet blocks"), each key absent or
 * null meaning stock diffusers. Per-level arrays have one entry per down block: entry i governs {@code down_blocks.i},
 * {@code up_blocks.(n−1−i)} and, for i = n−1, {@code mid_block}.
 *
 * @param separableConv        {@code conv_type}: the 3×3 convs of that level's blocks (resnets, resamplers) are
 *                             depthwise 3×3 + pointwise 1×1 ({@code conv_in}/{@code conv_out} never)
 * @param reluAttention        {@code attention_activation: "relu"}: weights relu(S)/Nk instead of softmax(S)
 * @param sharedKvProjection   one bias-free {@code to_kv} projection, K = V
 * @param swiglu               {@code ff_activation: "swiglu"}: SiLU instead of GELU as the feed-forward's gate
 * @param ffMult               feed-forward inner width = ffMult × dim
 * @param selfAttention        {@code self_attention_per_block}: false = that level's transformer layers have no
 *                             norm1/attn1
 * @param midBlockTransformerLayers transformer layers in the mid block's Transformer2DModel
 * @param midBlockSelfAttention self-attention in the mid block's layers
 * @param attentionPerLayer    [down block i][resnet j]: a Transformer2DModel follows that resnet if the block type
 *                             has attentions ({@link UNetConfig#downAttention})
 * @param upAttentionPerLayer  [up block j (up order)][resnet k]: the same for up blocks ({@link UNetConfig#upAttention})
 */
public record EfficientBlocks(
        boolean[] separableConv,
        boolean reluAttention,
        boolean sharedKvProjection,
        boolean swiglu,
        int ffMult,
        boolean[] selfAttention,
        int midBlockTransformerLayers,
        boolean midBlockSelfAttention,
        boolean[][] attentionPerLayer,
        boolean[][] upAttentionPerLayer) {

    public static final Set<String> KEYS = Set.of("conv_type", "attention_activation", "shared_kv_projection",
            "ff_activation", "ff_mult", "self_attention_per_block", "mid_block_transformer_layers",
            "mid_block_self_attention", "attention_per_layer", "up_attention_per_layer");

    /** Self-attention in the transformer layers of a block at {@code level} (not the mid block). */
    public boolean selfAttention(int level) { return selfAttention[level]; }

    /** Whether a 3×3 conv of a block at {@code level} is separable. */
    public boolean separable(int level) { return separableConv[level]; }

    /** Every key at its default: the model is a stock diffusers UNet. */
    public boolean isStock() {
        for (boolean b : separableConv) if (b) return false;
        for (boolean b : selfAttention) if (!b) return false;
        for (boolean[] l : attentionPerLayer) for (boolean b : l) if (!b) return false;
        for (boolean[] l : upAttentionPerLayer) for (boolean b : l) if (!b) return false;
        return !reluAttention && !sharedKvProjection && !swiglu && ffMult == 4;
    }

    /**
     * Reads the keys from a UNet config; {@code diffusersMidLayers} is diffusers' own mid-block transformer count
     * (the default of {@code mid_block_transformer_layers}). Given per-layer lists must be false at the positions of
     * blocks without attentions; absent lists are true everywhere.
     */
    static EfficientBlocks fromJson(JsonNode j, List<String> down, List<String> up, int[] layers, boolean hasMid, int diffusersMidLayers) {
        int n = layers.length;
        boolean[] separable = new boolean[n];
        JsonNode ct = value(j, "conv_type");
        if (ct != null && ct.isTextual()) {
            Arrays.fill(separable, convType(ct.asText(), ct));
        } else if (ct != null && ct.isArray() && ct.size() == n) {
            for (int i = 0; i < n; i++) {
                if (!ct.get(i).isTextual()) refuse("conv_type", ct, "entries must be \"standard\" or \"separable\"");
                separable[i] = convType(ct.get(i).asText(), ct);
            }
        } else if (ct != null) {
            refuse("conv_type", ct, "expected \"standard\", \"separable\" or a list of them with one entry per down block (" + n + ")");
        }

        boolean relu = choice(j, "attention_activation", "softmax", "relu");
        boolean shared = flag(j, "shared_kv_projection", false);
        boolean swiglu = choice(j, "ff_activation", "geglu", "swiglu");
        JsonNode fm = value(j, "ff_mult");
        int ffMult = 4;
        if (fm != null) {
            if (!fm.isIntegralNumber() || fm.asLong() < 1 || fm.asLong() > 1 << 16) refuse("ff_mult", fm, "expected a positive whole number");
            ffMult = fm.asInt();
        }

        boolean[] self = new boolean[n];
        Arrays.fill(self, true);
        JsonNode sa = value(j, "self_attention_per_block");
        if (sa != null) self = booleans("self_attention_per_block", sa, n);

        JsonNode ml = value(j, "mid_block_transformer_layers"), ms = value(j, "mid_block_self_attention");
        if (!hasMid && ml != null) refuse("mid_block_transformer_layers", ml, "needs mid_block_type UNetMidBlock2DCrossAttn");
        if (!hasMid && ms != null) refuse("mid_block_self_attention", ms, "needs mid_block_type UNetMidBlock2DCrossAttn");
        int midLayers = diffusersMidLayers;
        if (ml != null) {
            if (!ml.isIntegralNumber() || ml.asLong() < 1 || ml.asLong() > 1 << 16) refuse("mid_block_transformer_layers", ml, "expected a whole number ≥ 1");
            midLayers = ml.asInt();
        } else if (hasMid && midLayers < 1) {
            refuse("transformer_layers_per_block", midLayers, "the mid block's transformer count (last entry) must be ≥ 1");
        }
        boolean midSelf = self[n - 1];
        if (ms != null) {
            if (!ms.isBoolean()) refuse("mid_block_self_attention", ms, "expected true or false");
            midSelf = ms.asBoolean();
        }

        boolean[][] downAttn = new boolean[n][], upAttn = new boolean[n][];
        JsonNode ap = value(j, "attention_per_layer"), up2 = value(j, "up_attention_per_layer");
        requireBlockCount("attention_per_layer", ap, n);
        requireBlockCount("up_attention_per_layer", up2, n);
        for (int i = 0; i < n; i++) {
            downAttn[i] = perLayer("attention_per_layer", ap, i, layers[i], down.get(i).equals(CROSS_ATTN_DOWN), "down_blocks." + i);
            upAttn[i] = perLayer("up_attention_per_layer", up2, i, layers[n - 1 - i] + 1, up.get(i).equals(CROSS_ATTN_UP), "up_blocks." + i);
        }
        return new EfficientBlocks(separable, relu, shared, swiglu, ffMult, self, midLayers, midSelf, downAttn, upAttn);
    }

    private static boolean[] perLayer(String key, JsonNode lists, int block, int count, boolean hasAttentions, String path) {
        boolean[] out = new boolean[count];
        if (lists == null) {
            Arrays.fill(out, true);                       // absent: every attention the block type has exists
            return out;
        }
        JsonNode l = lists.get(block);
        if (l == null || !l.isArray() || l.size() != count) {
            refuse(key, lists, "entry " + block + " must be a list of " + count + " booleans, one per resnet of " + path + " (got " + l + ")");
        }
        for (int k = 0; k < count; k++) {
            if (!l.get(k).isBoolean()) refuse(key, lists, "entry " + block + " must hold booleans only");
            out[k] = l.get(k).asBoolean();
            if (out[k] && !hasAttentions) refuse(key, lists, path + " has no attentions (DownBlock2D / UpBlock2D): its entries must be false");
        }
        return out;
    }

    private static void requireBlockCount(String key, JsonNode lists, int n) {
        if (lists != null && (!lists.isArray() || lists.size() != n)) refuse(key, lists, "expected one list of booleans per block (" + n + ")");
    }

    private static boolean convType(String v, JsonNode node) {
        return switch (v) {
            case "standard" -> false;
            case "separable" -> true;
            default -> {
                refuse("conv_type", node, "values are \"standard\" and \"separable\"");
                yield false;
            }
        };
    }

    private static boolean choice(JsonNode j, String key, String standard, String alternative) {
        JsonNode v = value(j, key);
        if (v == null) return false;
        if (v.isTextual() && v.asText().equals(standard)) return false;
        if (v.isTextual() && v.asText().equals(alternative)) return true;
        refuse(key, v, "values are \"" + standard + "\" and \"" + alternative + "\"");
        return false;
    }

    private static boolean flag(JsonNode j, String key, boolean def) {
        JsonNode v = value(j, key);
        if (v == null) return def;
        if (!v.isBoolean()) refuse(key, v, "expected true or false");
        return v.asBoolean();
    }

    private static boolean[] booleans(String key, JsonNode v, int n) {
        if (!v.isArray() || v.size() != n) refuse(key, v, "expected a list of " + n + " booleans, one per down block");
        boolean[] out = new boolean[n];
        for (int i = 0; i < n; i++) {
            if (!v.get(i).isBoolean()) refuse(key, v, "expected booleans");
            out[i] = v.get(i).asBoolean();
        }
        return out;
    }

    /** The key's value, or null when absent or JSON null (= default). */
    private static JsonNode value(JsonNode j, String key) {
        JsonNode v = j.get(key);
        return v == null || v.isNull() ? null : v;
    }

    @Override
    public String toString() {
        return "EfficientBlocks[separable=" + Arrays.toString(separableConv) + ", relu=" + reluAttention + ", sharedKV=" + sharedKvProjection
                + ", swiglu=" + swiglu + ", ffMult=" + ffMult + ", selfAttention=" + Arrays.toString(selfAttention)
                + ", midLayers=" + midBlockTransformerLayers + ", midSelf=" + midBlockSelfAttention
                + ", attentionPerLayer=" + Arrays.deepToString(attentionPerLayer) + ", upAttentionPerLayer=" + Arrays.deepToString(upAttentionPerLayer) + "]";
    }
}
