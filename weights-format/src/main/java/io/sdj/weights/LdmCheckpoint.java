package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightTensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A single-file Stable Diffusion 1.x / 2.x checkpoint in the original LDM/CompVis layout, mapped to diffusers /
 * transformers keys (the mapping is documented in {@code weights-format/FORMAT.md}). Every tensor stays a zero-copy
 * view: renames, the split of OpenCLIP's fused {@code in_proj} into q/k/v (row slices) and the VAE attention's
 * 1×1-conv → linear reshape touch no data.
 */
public final class LdmCheckpoint {
    private LdmCheckpoint() {}

    public static final String UNET = "model.diffusion_model.";
    public static final String VAE = "first_stage_model.";
    public static final String CLIP = "cond_stage_model.transformer.";
    public static final String OPEN_CLIP = "cond_stage_model.model.";

    /** SD generation, detected from the text encoder keys. */
    public enum Version { SD1, SD2 }

    public static boolean isLdm(Collection<String> keys) {
        for (String k : keys) if (k.startsWith(UNET) || k.startsWith(VAE) || k.startsWith("cond_stage_model.")) return true;
        return false;
    }

    /** SD1 (CLIP ViT-L, {@code cond_stage_model.transformer.*}) or SD2 (OpenCLIP ViT-H, {@code cond_stage_model.model.*}). */
    public static Version detect(Path file, Collection<String> keys) {
        boolean clip = false, open = false, unet = false;
        for (String k : keys) {
            clip |= k.startsWith(CLIP);
            open |= k.startsWith(OPEN_CLIP);
            unet |= k.startsWith(UNET);
            if (k.startsWith("conditioner.")) throw new WeightsFormatException(file + ": an SDXL checkpoint (conditioner.* keys); only SD 1.x / 2.x single files are supported");
        }
        if (!unet) throw new WeightsFormatException(file + ": no model.diffusion_model.* tensors: not a complete SD checkpoint");
        if (clip && open) throw new WeightsFormatException(file + ": holds both CLIP (cond_stage_model.transformer.*) and OpenCLIP (cond_stage_model.model.*) text encoders");
        if (!clip && !open) throw new WeightsFormatException(file + ": no text encoder (cond_stage_model.*) tensors: not a complete SD checkpoint");
        return clip ? Version.SD1 : Version.SD2;
    }

    // ------------------------------------------------------------------------------------------------------------
    // UNet

    private static final Pattern INPUT = Pattern.compile("input_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");
    private static final Pattern MIDDLE = Pattern.compile("middle_block\\.(\\d+)\\.(.+)");
    private static final Pattern OUTPUT = Pattern.compile("output_blocks\\.(\\d+)\\.(\\d+)\\.(.+)");

    /** LDM ResBlock parameter names → diffusers ResnetBlock2D names. */
    static String resnet(String rest, String where) {
        String[][] map = {{"in_layers.0.", "norm1."}, {"in_layers.2.", "conv1."}, {"emb_layers.1.", "time_emb_proj."},
                {"out_layers.0.", "norm2."}, {"out_layers.3.", "conv2."}, {"skip_connection.", "conv_shortcut."}};
        for (String[] m : map) if (rest.startsWith(m[0])) return m[1] + rest.substring(m[0].length());
        throw new WeightsFormatException("unexpected resnet parameter '" + rest + "' in " + where);
    }

    /** Resnets per down block (= up-block resnets − 1), from the position of the first downsampler. */
    static int layersPerBlock(Path file, Set<String> unetKeys) {
        int maxInput = 0;
        for (String k : unetKeys) {
            Matcher m = INPUT.matcher(k);
            if (m.matches()) {
                int i = Integer.parseInt(m.group(1));
                if (k.startsWith("input_blocks." + i + ".0.op.")) return i - 1;
                maxInput = Math.max(maxInput, i);
            }
        }
        if (maxInput == 0) throw new WeightsFormatException(file + ": the UNet has no input blocks");
        return maxInput;
    }

    /** Maps one UNet key (without {@code model.diffusion_model.}) to its diffusers name. */
    static String unetKey(String k, int lpb, Set<String> unetKeys, Path file) {
        if (k.startsWith("time_embed.0.")) return "time_embedding.linear_1." + k.substring(13);
        if (k.startsWith("time_embed.2.")) return "time_embedding.linear_2." + k.substring(13);
        if (k.startsWith("input_blocks.0.0.")) return "conv_in." + k.substring(17);
        if (k.startsWith("out.0.")) return "conv_norm_out." + k.substring(6);
        if (k.startsWith("out.2.")) return "conv_out." + k.substring(6);
        Matcher m = INPUT.matcher(k);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1)), j = Integer.parseInt(m.group(2));
            int block = (i - 1) / (lpb + 1), layer = (i - 1) % (lpb + 1);
            String rest = m.group(3);
            if (j == 0 && rest.startsWith("op.")) return "down_blocks." + block + ".downsamplers.0.conv." + rest.substring(3);
            if (j == 0) return "down_blocks." + block + ".resnets." + layer + "." + resnet(rest, file + " " + UNET + k);
            if (j == 1) return "down_blocks." + block + ".attentions." + layer + "." + rest;
        }
        m = MIDDLE.matcher(k);
        if (m.matches()) {
            int j = Integer.parseInt(m.group(1));
            if (j == 0 || j == 2) return "mid_block.resnets." + (j / 2) + "." + resnet(m.group(2), file + " " + UNET + k);
            if (j == 1) return "mid_block.attentions.0." + m.group(2);
        }
        m = OUTPUT.matcher(k);
        if (m.matches()) {
            int i = Integer.parseInt(m.group(1)), j = Integer.parseInt(m.group(2));
            int block = i / (lpb + 1), layer = i % (lpb + 1);
            String rest = m.group(3);
            if (j == 0) return "up_blocks." + block + ".resnets." + layer + "." + resnet(rest, file + " " + UNET + k);
            // an Upsample module holds only conv.weight / conv.bias; a SpatialTransformer has norm, proj_in, ...
            boolean upsampler = unetKeys.contains("output_blocks." + i + "." + j + ".conv.weight");
            if (upsampler && rest.startsWith("conv.")) return "up_blocks." + block + ".upsamplers.0.conv." + rest.substring(5);
            if (j == 1 && !upsampler) return "up_blocks." + block + ".attentions." + layer + "." + rest;
        }
        throw new WeightsFormatException(file + ": unexpected UNet tensor '" + UNET + k + "' (not an SD 1.x / 2.x UNet)");
    }

    // ------------------------------------------------------------------------------------------------------------
    // VAE

    private static final Pattern VAE_DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.(block\\.(\\d+)|downsample)\\.(.+)");
    private static final Pattern VAE_UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.(block\\.(\\d+)|upsample)\\.(.+)");
    private static final Pattern VAE_MID = Pattern.compile("(encoder|decoder)\\.mid\\.(block_1|block_2|attn_1)\\.(.+)");

    private static String vaeResnet(String rest) {
        return rest.startsWith("nin_shortcut.") ? "conv_shortcut." + rest.substring(13) : rest;
    }

    /** Maps one VAE key (without {@code first_stage_model.}); {@code upBlocks} = number of decoder.up.* stages. */
    static String vaeKey(String k, int upBlocks, Path file) {
        for (String side : new String[]{"encoder.", "decoder."}) {
            if (k.startsWith(side + "conv_in.") || k.startsWith(side + "conv_out.")) return k;
            if (k.startsWith(side + "norm_out.")) return side + "conv_norm_out." + k.substring(side.length() + 9);
        }
        if (k.startsWith("quant_conv.") || k.startsWith("post_quant_conv.")) return k;
        Matcher m = VAE_DOWN.matcher(k);
        if (m.matches()) {
            String b = "encoder.down_blocks." + m.group(1) + ".";
            return m.group(3) != null ? b + "resnets." + m.group(3) + "." + vaeResnet(m.group(4)) : b + "downsamplers.0." + m.group(4);
        }
        m = VAE_UP.matcher(k);
        if (m.matches()) {
            String b = "decoder.up_blocks." + (upBlocks - 1 - Integer.parseInt(m.group(1))) + ".";
            return m.group(3) != null ? b + "resnets." + m.group(3) + "." + vaeResnet(m.group(4)) : b + "upsamplers.0." + m.group(4);
        }
        m = VAE_MID.matcher(k);
        if (m.matches()) {
            String b = m.group(1) + ".mid_block.";
            String rest = m.group(3);
            switch (m.group(2)) {
                case "block_1": return b + "resnets.0." + vaeResnet(rest);
                case "block_2": return b + "resnets.1." + vaeResnet(rest);
                default: {
                    String[][] map = {{"norm.", "group_norm."}, {"q.", "to_q."}, {"k.", "to_k."}, {"v.", "to_v."}, {"proj_out.", "to_out.0."}};
                    for (String[] x : map) if (rest.startsWith(x[0])) return b + "attentions.0." + x[1] + rest.substring(x[0].length());
                }
            }
        }
        throw new WeightsFormatException(file + ": unexpected VAE tensor '" + VAE + k + "'");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Text encoders

    /** SD1: transformers CLIPTextModel keys under {@code cond_stage_model.transformer.}; old exports lack {@code text_model.}. */
    static String clipKey(String k) {
        return k.startsWith("text_model.") ? k : "text_model." + k;
    }

    private static final Pattern RESBLOCK = Pattern.compile("transformer\\.resblocks\\.(\\d+)\\.(.+)");

    // ------------------------------------------------------------------------------------------------------------

    /** Imports the checkpoint (takes ownership of {@code st}). */
    static ModelSource importFrom(TensorFile st, Path file, Path configFrom) {
        ObjectNode prov = JsonNodeFactory.instance.objectNode()
                .put("source", file.toAbsolutePath().normalize().toString()).put("source_format", "ldm-checkpoint");
        ImportedModel model = new ImportedModel("StableDiffusionPipeline", prov);
        model.own(st);
        try {
            Version version = detect(file, st.names());
            prov.put("detected", version == Version.SD1 ? "sd1" : "sd2");
            Map<String, WeightTensor> shapes = new LinkedHashMap<>();
            Set<String> unetKeys = new TreeSet<>(), vaeKeys = new TreeSet<>(), teKeys = new TreeSet<>();
            List<String> ignored = new ArrayList<>();
            for (String k : st.names()) {
                String dt = st.dtype(k);
                boolean isFloat = TensorFile.isFloat(dt);
                if (k.startsWith(UNET) && isFloat) unetKeys.add(k.substring(UNET.length()));
                else if (k.startsWith(VAE) && !k.startsWith(VAE + "loss.") && isFloat) vaeKeys.add(k.substring(VAE.length()));
                else if (k.startsWith("cond_stage_model.") && isFloat) teKeys.add(k);
                else ignored.add(k);
            }
            if (vaeKeys.isEmpty()) throw new WeightsFormatException(file + ": no first_stage_model.* (VAE) tensors: not a complete SD checkpoint");

            // UNet
            int lpb = layersPerBlock(file, unetKeys);
            WeightMap unet = new WeightMap(file + " [unet]");
            for (String k : unetKeys) {
                String full = UNET + k;
                unet.put(unetKey(k, lpb, unetKeys, file), () -> st.get(full));
            }
            // VAE
            int upBlocks = 0;
            for (String k : vaeKeys) {
                Matcher m = VAE_UP.matcher(k);
                if (m.matches()) upBlocks = Math.max(upBlocks, Integer.parseInt(m.group(1)) + 1);
            }
            WeightMap vae = new WeightMap(file + " [vae]");
            for (String k : vaeKeys) {
                String full = VAE + k;
                String name = vaeKey(k, upBlocks, file);
                boolean squeeze = name.contains(".mid_block.attentions.0.to_") && k.endsWith(".weight");
                vae.put(name, squeeze ? () -> squeezeConv1x1(st.get(full), file) : () -> st.get(full));
            }
            // text encoder
            WeightMap te = new WeightMap(file + " [text_encoder]");
            int layers = version == Version.SD1 ? clip(st, teKeys, te, ignored) : openClip(st, file, teKeys, te, ignored);

            if (!ignored.isEmpty()) {
                ArrayNode a = prov.putArray("ignored_tensors");
                ignored.stream().limit(50).forEach(a::add);
                if (ignored.size() > 50) prov.put("ignored_tensors_total", ignored.size());
            }

            if (configFrom != null) {
                prov.put("config_origin", configFrom.toAbsolutePath().normalize().toString());
                try (ModelSource cfg = ModelImporter.importFrom(configFrom)) {
                    Map<String, JsonNode> configs = new LinkedHashMap<>();
                    for (String c : List.of("text_encoder", "unet", "vae", "scheduler")) {
                        if (!cfg.components().contains(c)) throw new WeightsFormatException(configFrom + ": has no '" + c + "' component to take the config from");
                        configs.put(c, cfg.config(c));
                    }
                    model.add("text_encoder", configs.get("text_encoder"), te).add("unet", configs.get("unet"), unet)
                            .add("vae", configs.get("vae"), vae).add("scheduler", configs.get("scheduler"), WeightMap.EMPTY);
                    cfg.tokenizerFiles().forEach(model::tokenizerFile);
                }
            } else {
                String v = version == Version.SD1 ? "sd1" : "sd2";
                prov.put("config_origin", "built-in " + v + " defaults, sizes from the checkpoint's tensor shapes");
                model.add("text_encoder", textEncoderConfig(v, te, layers), te)
                        .add("unet", unetConfig(v, version, unet, lpb), unet)
                        .add("vae", vaeConfig(v, vae, upBlocks), vae)
                        .add("scheduler", resource(v + "-scheduler.json"), WeightMap.EMPTY);
            }
            return model;
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static WeightTensor squeezeConv1x1(WeightTensor t, Path file) {
        int[] s = t.shape();
        if (s.length == 2) return t;
        if (s.length != 4 || s[2] != 1 || s[3] != 1) {
            throw new WeightsFormatException(file + ": VAE attention weight '" + t.name() + "' has shape " + java.util.Arrays.toString(s) + ", expected [C, C, 1, 1]");
        }
        return new WeightTensor(t.name(), t.dtype(), new int[]{s[0], s[1]}, t.data(), t.scales());
    }

    private static int clip(TensorFile st, Set<String> keys, WeightMap te, List<String> ignored) {
        int layers = 0;
        Pattern layer = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\..+");
        for (String full : keys) {
            if (!full.startsWith(CLIP)) { ignored.add(full); continue; }
            String name = clipKey(full.substring(CLIP.length()));
            if (name.equals("text_model.embeddings.position_ids")) { ignored.add(full); continue; }
            Matcher m = layer.matcher(name);
            if (m.matches()) layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
            te.put(name, () -> st.get(full));
        }
        return layers;
    }

    /** OpenCLIP → CLIPTextModel; the last resblock is dropped as diffusers does (SD2 conditions on the penultimate layer). */
    private static int openClip(TensorFile st, Path file, Set<String> keys, WeightMap te, List<String> ignored) {
        int blocks = 0;
        for (String full : keys) {
            Matcher m = RESBLOCK.matcher(full.startsWith(OPEN_CLIP) ? full.substring(OPEN_CLIP.length()) : "");
            if (m.matches()) blocks = Math.max(blocks, Integer.parseInt(m.group(1)) + 1);
        }
        if (blocks < 2) throw new WeightsFormatException(file + ": OpenCLIP text encoder with " + blocks + " resblocks");
        int keep = blocks - 1;
        for (String full : keys) {
            String k = full.startsWith(OPEN_CLIP) ? full.substring(OPEN_CLIP.length()) : null;
            if (k == null || k.startsWith("visual.") || k.equals("text_projection") || k.equals("logit_scale") || k.equals("attn_mask")) {
                ignored.add(full);
                continue;
            }
            switch (k) {
                case "token_embedding.weight" -> { te.put("text_model.embeddings.token_embedding.weight", () -> st.get(full)); continue; }
                case "positional_embedding" -> { te.put("text_model.embeddings.position_embedding.weight", () -> st.get(full)); continue; }
                case "ln_final.weight" -> { te.put("text_model.final_layer_norm.weight", () -> st.get(full)); continue; }
                case "ln_final.bias" -> { te.put("text_model.final_layer_norm.bias", () -> st.get(full)); continue; }
                default -> { }
            }
            Matcher m = RESBLOCK.matcher(k);
            if (!m.matches()) throw new WeightsFormatException(file + ": unexpected OpenCLIP tensor '" + full + "'");
            int i = Integer.parseInt(m.group(1));
            if (i >= keep) { ignored.add(full); continue; }
            String p = "text_model.encoder.layers." + i + ".";
            String rest = m.group(2);
            switch (rest) {
                case "attn.in_proj_weight", "attn.in_proj_bias" -> {
                    String suffix = rest.endsWith("weight") ? "weight" : "bias";
                    String[] names = {"q_proj", "k_proj", "v_proj"};
                    for (int part = 0; part < 3; part++) {
                        int pp = part;
                        te.put(p + "self_attn." + names[part] + "." + suffix, () -> thirdOf(st.get(full), pp, file));
                    }
                }
                default -> {
                    String[][] map = {{"attn.out_proj.", "self_attn.out_proj."}, {"ln_1.", "layer_norm1."}, {"ln_2.", "layer_norm2."},
                            {"mlp.c_fc.", "mlp.fc1."}, {"mlp.c_proj.", "mlp.fc2."}};
                    String name = null;
                    for (String[] x : map) if (rest.startsWith(x[0])) name = p + x[1] + rest.substring(x[0].length());
                    if (name == null) throw new WeightsFormatException(file + ": unexpected OpenCLIP tensor '" + full + "'");
                    te.put(name, () -> st.get(full));
                }
            }
        }
        return keep;
    }

    /** Rows [part·n/3, (part+1)·n/3) of a fused q/k/v tensor, zero-copy. */
    private static WeightTensor thirdOf(WeightTensor t, int part, Path file) {
        int[] s = t.shape();
        if (s.length == 0 || s[0] % 3 != 0) throw new WeightsFormatException(file + ": fused attention tensor '" + t.name() + "' has shape " + java.util.Arrays.toString(s));
        int[] ns = s.clone();
        ns[0] = s[0] / 3;
        long bytes = t.data().byteSize() / 3;
        return new WeightTensor(t.name(), t.dtype(), ns, t.data().asSlice(part * bytes, bytes), null);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Configs: built-in defaults, sized from the tensors

    static ObjectNode resource(String name) {
        try (InputStream in = LdmCheckpoint.class.getResourceAsStream("ldm/" + name)) {
            if (in == null) throw new IllegalStateException("missing resource ldm/" + name);
            return (ObjectNode) ModelFile.JSON.readTree(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int[] shape(WeightMap w, String name) {
        return w.get(name).shape();
    }

    private static ArrayNode ints(ObjectNode o, String field, List<Integer> v) {
        ArrayNode a = o.putArray(field);
        v.forEach(a::add);
        return a;
    }

    private static ObjectNode unetConfig(String v, Version version, WeightMap w, int lpb) {
        ObjectNode c = resource(v + "-unet.json");
        int[] convIn = shape(w, "conv_in.weight");
        c.put("in_channels", convIn[1]);
        c.put("out_channels", shape(w, "conv_out.weight")[0]);
        List<Integer> channels = new ArrayList<>();
        List<Boolean> attn = new ArrayList<>();
        for (int b = 0; w.contains("down_blocks." + b + ".resnets.0.conv1.weight"); b++) {
            channels.add(shape(w, "down_blocks." + b + ".resnets.0.conv1.weight")[0]);
            attn.add(w.contains("down_blocks." + b + ".attentions.0.proj_in.weight"));
        }
        ints(c, "block_out_channels", channels);
        c.put("layers_per_block", lpb);
        ArrayNode down = c.putArray("down_block_types"), up = c.putArray("up_block_types");
        for (boolean a : attn) down.add(a ? "CrossAttnDownBlock2D" : "DownBlock2D");
        for (int i = attn.size() - 1; i >= 0; i--) up.add(attn.get(i) ? "CrossAttnUpBlock2D" : "UpBlock2D");
        String anyAttn = null;
        for (String n : w.names()) if (n.endsWith(".attn2.to_k.weight")) { anyAttn = n; break; }
        if (anyAttn != null) c.put("cross_attention_dim", shape(w, anyAttn)[1]);
        for (String n : w.names()) {
            if (n.endsWith(".proj_in.weight")) { c.put("use_linear_projection", shape(w, n).length == 2); break; }
        }
        if (version == Version.SD2) {
            List<Integer> heads = new ArrayList<>();
            for (int ch : channels) heads.add(Math.max(1, ch / 64));
            ints(c, "attention_head_dim", heads);
        }
        int groups = c.get("norm_num_groups").asInt();
        for (int ch : channels) if (ch % groups != 0) c.put("_sdj_note", "norm_num_groups " + groups + " does not divide every channel count; pass a config folder");
        return c;
    }

    private static ObjectNode vaeConfig(String v, WeightMap w, int upBlocks) {
        ObjectNode c = resource(v + "-vae.json");
        c.put("in_channels", shape(w, "encoder.conv_in.weight")[1]);
        c.put("out_channels", shape(w, "decoder.conv_out.weight")[0]);
        c.put("latent_channels", shape(w, "post_quant_conv.weight")[0]);
        List<Integer> channels = new ArrayList<>();
        int lpb = 0;
        for (int b = 0; w.contains("encoder.down_blocks." + b + ".resnets.0.conv1.weight"); b++) {
            channels.add(shape(w, "encoder.down_blocks." + b + ".resnets.0.conv1.weight")[0]);
            if (b == 0) while (w.contains("encoder.down_blocks.0.resnets." + lpb + ".conv1.weight")) lpb++;
        }
        ints(c, "block_out_channels", channels);
        c.put("layers_per_block", lpb);
        ArrayNode down = c.putArray("down_block_types"), up = c.putArray("up_block_types");
        for (int i = 0; i < channels.size(); i++) down.add("DownEncoderBlock2D");
        for (int i = 0; i < upBlocks; i++) up.add("UpDecoderBlock2D");
        return c;
    }

    private static ObjectNode textEncoderConfig(String v, WeightMap w, int layers) {
        ObjectNode c = resource(v + "-text_encoder.json");
        int[] tok = shape(w, "text_model.embeddings.token_embedding.weight");
        c.put("vocab_size", tok[0]);
        c.put("hidden_size", tok[1]);
        c.put("max_position_embeddings", shape(w, "text_model.embeddings.position_embedding.weight")[0]);
        c.put("intermediate_size", shape(w, "text_model.encoder.layers.0.mlp.fc1.weight")[0]);
        c.put("num_hidden_layers", layers);
        if (tok[1] % 64 == 0) c.put("num_attention_heads", tok[1] / 64);
        return c;
    }

}
