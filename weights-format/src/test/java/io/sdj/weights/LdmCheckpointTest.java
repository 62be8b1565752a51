package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.DType;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Builds original-layout (LDM/CompVis) single-file checkpoints from golden diffusers tensors with the INVERSE of the
 * importer's mapping (written here independently), imports them and checks the round trip is exact.
 */
class LdmCheckpointTest {
    @TempDir
    Path tmp;

    // ---- inverse mapping: diffusers → LDM ------------------------------------------------------------------------

    private static String invResnet(String r) {
        String[][] m = {{"norm1.", "in_layers.0."}, {"conv1.", "in_layers.2."}, {"time_emb_proj.", "emb_layers.1."},
                {"norm2.", "out_layers.0."}, {"conv2.", "out_layers.3."}, {"conv_shortcut.", "skip_connection."}};
        for (String[] x : m) if (r.startsWith(x[0])) return x[1] + r.substring(x[0].length());
        throw new AssertionError(r);
    }

    static String ldmUnet(String n, int lpb, Set<String> names) {
        Matcher m;
        if (n.startsWith("time_embedding.linear_1.")) return "time_embed.0." + n.substring(24);
        if (n.startsWith("time_embedding.linear_2.")) return "time_embed.2." + n.substring(24);
        if (n.startsWith("conv_in.")) return "input_blocks.0.0." + n.substring(8);
        if (n.startsWith("conv_norm_out.")) return "out.0." + n.substring(14);
        if (n.startsWith("conv_out.")) return "out.2." + n.substring(9);
        if ((m = Pattern.compile("down_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(.+)").matcher(n)).matches())
            return "input_blocks." + (1 + Integer.parseInt(m.group(1)) * (lpb + 1) + Integer.parseInt(m.group(2))) + ".0." + invResnet(m.group(3));
        if ((m = Pattern.compile("down_blocks\\.(\\d+)\\.attentions\\.(\\d+)\\.(.+)").matcher(n)).matches())
            return "input_blocks." + (1 + Integer.parseInt(m.group(1)) * (lpb + 1) + Integer.parseInt(m.group(2))) + ".1." + m.group(3);
        if ((m = Pattern.compile("down_blocks\\.(\\d+)\\.downsamplers\\.0\\.conv\\.(.+)").matcher(n)).matches())
            return "input_blocks." + (1 + Integer.parseInt(m.group(1)) * (lpb + 1) + lpb) + ".0.op." + m.group(2);
        if ((m = Pattern.compile("mid_block\\.resnets\\.(\\d)\\.(.+)").matcher(n)).matches())
            return "middle_block." + 2 * Integer.parseInt(m.group(1)) + "." + invResnet(m.group(2));
        if (n.startsWith("mid_block.attentions.0.")) return "middle_block.1." + n.substring(23);
        if ((m = Pattern.compile("up_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(.+)").matcher(n)).matches())
            return "output_blocks." + (Integer.parseInt(m.group(1)) * (lpb + 1) + Integer.parseInt(m.group(2))) + ".0." + invResnet(m.group(3));
        if ((m = Pattern.compile("up_blocks\\.(\\d+)\\.attentions\\.(\\d+)\\.(.+)").matcher(n)).matches())
            return "output_blocks." + (Integer.parseInt(m.group(1)) * (lpb + 1) + Integer.parseInt(m.group(2))) + ".1." + m.group(3);
        if ((m = Pattern.compile("up_blocks\\.(\\d+)\\.upsamplers\\.0\\.conv\\.(.+)").matcher(n)).matches()) {
            int b = Integer.parseInt(m.group(1));
            boolean attn = names.contains("up_blocks." + b + ".attentions.0.norm.weight");
            return "output_blocks." + (b * (lpb + 1) + lpb) + "." + (attn ? 2 : 1) + ".conv." + m.group(2);
        }
        throw new AssertionError("no inverse for unet key " + n);
    }

    static String ldmVae(String n, int upBlocks) {
        Matcher m;
        String s = n.replace("conv_norm_out.", "norm_out.").replace("conv_shortcut.", "nin_shortcut.");
        if ((m = Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(.+)").matcher(s)).matches())
            return "encoder.down." + m.group(1) + ".block." + m.group(2) + "." + m.group(3);
        if ((m = Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\.downsamplers\\.0\\.(.+)").matcher(s)).matches())
            return "encoder.down." + m.group(1) + ".downsample." + m.group(2);
        if ((m = Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.(.+)").matcher(s)).matches())
            return "decoder.up." + (upBlocks - 1 - Integer.parseInt(m.group(1))) + ".block." + m.group(2) + "." + m.group(3);
        if ((m = Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.upsamplers\\.0\\.(.+)").matcher(s)).matches())
            return "decoder.up." + (upBlocks - 1 - Integer.parseInt(m.group(1))) + ".upsample." + m.group(2);
        if ((m = Pattern.compile("(encoder|decoder)\\.mid_block\\.resnets\\.(\\d)\\.(.+)").matcher(s)).matches())
            return m.group(1) + ".mid.block_" + (Integer.parseInt(m.group(2)) + 1) + "." + m.group(3);
        if ((m = Pattern.compile("(encoder|decoder)\\.mid_block\\.attentions\\.0\\.(group_norm|to_q|to_k|to_v|to_out\\.0)\\.(.+)").matcher(s)).matches()) {
            String t = switch (m.group(2)) { case "group_norm" -> "norm"; case "to_q" -> "q"; case "to_k" -> "k"; case "to_v" -> "v"; default -> "proj_out"; };
            return m.group(1) + ".mid.attn_1." + t + "." + m.group(3);
        }
        return s;
    }

    private static Map<String, WeightTensor> unetLdm(WeightSource unet, int lpb) {
        Map<String, WeightTensor> out = new LinkedHashMap<>();
        for (String n : unet.names()) out.put("model.diffusion_model." + ldmUnet(n, lpb, unet.names()), unet.get(n));
        return out;
    }

    private static Map<String, WeightTensor> vaeLdm(WeightSource vae) {
        Map<String, WeightTensor> out = new LinkedHashMap<>();
        int up = 0;
        while (vae.contains("decoder.up_blocks." + up + ".resnets.0.conv1.weight")) up++;
        for (String n : vae.names()) {
            WeightTensor t = vae.get(n);
            if (n.contains("mid_block.attentions.0.to_") && n.endsWith(".weight")) {
                t = new WeightTensor(n, t.dtype(), new int[]{t.shape()[0], t.shape()[1], 1, 1}, t.data(), null);
            }
            out.put("first_stage_model." + ldmVae(n, up), t);
        }
        return out;
    }

    /** transformers CLIPTextModel → OpenCLIP keys (fused q/k/v), with one extra final resblock that the importer drops. */
    private static Map<String, WeightTensor> openClip(WeightSource te, int layers) {
        Map<String, WeightTensor> out = new LinkedHashMap<>();
        String p = "cond_stage_model.model.";
        out.put(p + "token_embedding.weight", te.get("text_model.embeddings.token_embedding.weight"));
        out.put(p + "positional_embedding", te.get("text_model.embeddings.position_embedding.weight"));
        out.put(p + "ln_final.weight", te.get("text_model.final_layer_norm.weight"));
        out.put(p + "ln_final.bias", te.get("text_model.final_layer_norm.bias"));
        for (int i = 0; i <= layers; i++) {
            int src = Math.min(i, layers - 1);
            String l = "text_model.encoder.layers." + src + ".";
            String r = p + "transformer.resblocks." + i + ".";
            for (String wb : List.of("weight", "bias")) {
                float[] q = te.get(l + "self_attn.q_proj." + wb).toFloats(), k = te.get(l + "self_attn.k_proj." + wb).toFloats(),
                        v = te.get(l + "self_attn.v_proj." + wb).toFloats();
                float[] fused = new float[q.length * 3];
                System.arraycopy(q, 0, fused, 0, q.length);
                System.arraycopy(k, 0, fused, q.length, q.length);
                System.arraycopy(v, 0, fused, 2 * q.length, q.length);
                int[] s = te.get(l + "self_attn.q_proj." + wb).shape().clone();
                s[0] *= 3;
                out.put(r + "attn.in_proj_" + wb, WeightTensor.ofFloats("x", fused, s));
                out.put(r + "attn.out_proj." + wb, te.get(l + "self_attn.out_proj." + wb));
                out.put(r + "ln_1." + wb, te.get(l + "layer_norm1." + wb));
                out.put(r + "ln_2." + wb, te.get(l + "layer_norm2." + wb));
                out.put(r + "mlp.c_fc." + wb, te.get(l + "mlp.fc1." + wb));
                out.put(r + "mlp.c_proj." + wb, te.get(l + "mlp.fc2." + wb));
            }
        }
        int h = te.get("text_model.final_layer_norm.weight").shape()[0];
        out.put(p + "text_projection", WeightTensor.ofFloats("x", new float[h * 4], h, 4));
        out.put(p + "logit_scale", WeightTensor.ofFloats("x", new float[]{4.6f}));
        return out;
    }

    private static void assertSameTensors(String what, WeightSource expected, WeightSource actual) {
        assertThat(actual.names()).as(what).containsExactlyInAnyOrderElementsOf(expected.names());
        for (String n : expected.names()) Golden.assertConverted(what + "/" + n, expected.get(n), actual.get(n), DType.F32);
    }

    private static Map<String, WeightTensor> junk() {
        Map<String, WeightTensor> m = new LinkedHashMap<>();
        m.put("alphas_cumprod", WeightTensor.ofFloats("x", new float[]{0.9f, 0.8f}, 2));
        m.put("model_ema.decay", WeightTensor.ofFloats("x", new float[]{0.9999f}));
        return m;
    }

    @Test
    void sd1CheckpointRoundTrips() throws IOException {
        Path golden = Golden.pipeline();
        Path ckpt = tmp.resolve("sd1-tiny.safetensors");
        try (ModelSource d = ModelImporter.importFrom(golden)) {
            Map<String, WeightTensor> all = new LinkedHashMap<>(junk());
            all.putAll(unetLdm(d.weights("unet"), d.config("unet").get("layers_per_block").asInt()));
            all.putAll(vaeLdm(d.weights("vae")));
            WeightSource te = d.weights("text_encoder");
            for (String n : te.names()) all.put("cond_stage_model.transformer." + n, te.get(n));
            SafetensorsWriter.write(ckpt, all, Map.of("format", "pt"));
        }
        try (ModelSource d = ModelImporter.importFrom(golden); ModelSource l = ModelImporter.importFrom(ckpt)) {
            assertThat(l.kind()).isEqualTo("StableDiffusionPipeline");
            assertThat(l.provenance().get("detected").asText()).isEqualTo("sd1");
            assertThat(l.provenance().get("source_format").asText()).isEqualTo("ldm-checkpoint");
            assertThat(l.components()).containsExactly("text_encoder", "unet", "vae", "scheduler");
            for (String c : List.of("text_encoder", "unet", "vae")) assertSameTensors(c, d.weights(c), l.weights(c));
            // sizes the importer derives from the tensor shapes equal the real configs
            JsonNode u = l.config("unet"), gu = d.config("unet");
            for (String f : List.of("in_channels", "out_channels", "block_out_channels", "layers_per_block", "cross_attention_dim",
                    "down_block_types", "up_block_types", "use_linear_projection", "attention_head_dim")) {
                assertThat(u.get(f)).as("unet " + f).isEqualTo(gu.get(f));
            }
            JsonNode v = l.config("vae"), gv = d.config("vae");
            for (String f : List.of("in_channels", "out_channels", "latent_channels", "block_out_channels", "layers_per_block",
                    "down_block_types", "up_block_types", "scaling_factor")) {
                assertThat(v.get(f)).as("vae " + f).isEqualTo(gv.get(f));
            }
            JsonNode t = l.config("text_encoder"), gt = d.config("text_encoder");
            for (String f : List.of("hidden_size", "intermediate_size", "num_hidden_layers", "vocab_size", "max_position_embeddings", "hidden_act")) {
                assertThat(t.get(f)).as("text_encoder " + f).isEqualTo(gt.get(f));
            }
            assertThat(l.provenance().get("ignored_tensors").toString()).contains("alphas_cumprod", "model_ema.decay");
        }
        // with the configs taken from a diffusers folder, configs and tokenizer are the folder's
        try (ModelSource d = ModelImporter.importFrom(golden);
             ModelSource l = ModelImporter.importFrom(ckpt, new ModelImporter.Options(null, golden))) {
            for (String c : List.of("text_encoder", "unet", "vae", "scheduler")) assertThat(l.config(c)).isEqualTo(d.config(c));
            assertThat(l.tokenizerFiles()).isEqualTo(d.tokenizerFiles());
            Path out = tmp.resolve("sd1.sdj");
            ModelWriter.write(l, out, null, false, null);
            try (ModelFile mf = ModelFile.open(out, true)) {
                for (String c : List.of("text_encoder", "unet", "vae")) assertSameTensors(c, d.weights(c), mf.weights(c));
                assertThat(mf.provenance().get("detected").asText()).isEqualTo("sd1");
            }
        }
    }

    @Test
    void sd2CheckpointWithOpenClipRoundTrips() throws IOException {
        Path g = Golden.dir();
        Path unetDir = g.resolve("unet-sd2-tiny"), vaeDir = g.resolve("vae-sd-tiny-decoder"), teDir = g.resolve("text-encoder-sd2-tiny");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(unetDir) && Files.isDirectory(vaeDir) && Files.isDirectory(teDir));
        Path ckpt = tmp.resolve("sd2-tiny.safetensors");
        try (ModelSource u = ModelImporter.importFrom(unetDir, new ModelImporter.Options("unet", null));
             ModelSource v = ModelImporter.importFrom(vaeDir, new ModelImporter.Options("vae", null));
             ModelSource t = ModelImporter.importFrom(teDir, new ModelImporter.Options("text_encoder", null))) {
            Map<String, WeightTensor> all = new LinkedHashMap<>(junk());
            all.putAll(unetLdm(u.weights("unet"), u.config("unet").get("layers_per_block").asInt()));
            all.putAll(vaeLdm(v.weights("vae")));
            all.putAll(openClip(t.weights("text_encoder"), t.config("text_encoder").get("num_hidden_layers").asInt()));
            SafetensorsWriter.write(ckpt, all, null);
        }
        try (ModelSource u = ModelImporter.importFrom(unetDir, new ModelImporter.Options("unet", null));
             ModelSource v = ModelImporter.importFrom(vaeDir, new ModelImporter.Options("vae", null));
             ModelSource t = ModelImporter.importFrom(teDir, new ModelImporter.Options("text_encoder", null));
             ModelSource l = ModelImporter.importFrom(ckpt)) {
            assertThat(l.provenance().get("detected").asText()).isEqualTo("sd2");
            assertSameTensors("unet", u.weights("unet"), l.weights("unet"));
            assertSameTensors("vae", v.weights("vae"), l.weights("vae"));
            assertSameTensors("text_encoder", t.weights("text_encoder"), l.weights("text_encoder"));
            assertThat(l.config("unet").get("use_linear_projection").asBoolean()).isTrue();
            assertThat(l.config("unet").get("cross_attention_dim")).isEqualTo(u.config("unet").get("cross_attention_dim"));
            assertThat(l.config("text_encoder").get("num_hidden_layers")).isEqualTo(t.config("text_encoder").get("num_hidden_layers"));
            assertThat(l.config("text_encoder").get("hidden_act").asText()).isEqualTo("gelu");
            assertThat(l.config("scheduler").get("prediction_type").asText()).isEqualTo("v_prediction");
            assertThat(l.provenance().get("ignored_tensors").toString()).contains("text_projection", "resblocks.3.");
        }
    }

    @Test
    void unknownLdmKeysAndPickleAreRefused() throws IOException {
        Path bad = tmp.resolve("bad.safetensors");
        Map<String, WeightTensor> m = new LinkedHashMap<>();
        m.put("model.diffusion_model.input_blocks.1.0.in_layers.0.weight", WeightTensor.ofFloats("x", new float[]{1}, 1));
        m.put("model.diffusion_model.label_emb.0.0.weight", WeightTensor.ofFloats("x", new float[]{1}, 1));
        m.put("first_stage_model.encoder.conv_in.weight", WeightTensor.ofFloats("x", new float[]{1}, 1));
        m.put("cond_stage_model.transformer.text_model.final_layer_norm.weight", WeightTensor.ofFloats("x", new float[]{1}, 1));
        SafetensorsWriter.write(bad, m, null);
        assertThatThrownBy(() -> ModelImporter.importFrom(bad)).hasMessageContaining(bad.toString())
                .hasMessageContaining("model.diffusion_model.label_emb.0.0.weight");
        Path ckpt = tmp.resolve("model.ckpt");
        Files.write(ckpt, new byte[]{1, 2, 3});
        assertThatThrownBy(() -> ModelImporter.importFrom(ckpt)).hasMessageContaining(ckpt.toString()).hasMessageContaining("not a PyTorch checkpoint");
    }

    @Test
    void shardedSafetensorsWithIndex() throws IOException {
        Path unetDir = Golden.dir().resolve("unet-sd1-tiny");
        Path dir = Files.createDirectories(tmp.resolve("sharded"));
        Files.copy(unetDir.resolve("config.json"), dir.resolve("config.json"));
        StringBuilder idx = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        try (Safetensors st = Safetensors.open(unetDir.resolve("model.safetensors"))) {
            Map<String, WeightTensor> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
            int i = 0;
            for (String n : st.names()) {
                boolean first = i++ % 2 == 0;
                (first ? a : b).put(n, st.weight(n));
                idx.append(i > 1 ? "," : "").append('"').append(n).append("\": \"").append(first ? "m-00001-of-00002.safetensors" : "m-00002-of-00002.safetensors").append('"');
            }
            SafetensorsWriter.write(dir.resolve("m-00001-of-00002.safetensors"), a, null);
            SafetensorsWriter.write(dir.resolve("m-00002-of-00002.safetensors"), b, null);
            Files.writeString(dir.resolve("diffusion_pytorch_model.safetensors.index.json"), idx.append("}}").toString());
            try (ModelSource s = ModelImporter.importFrom(dir)) {
                assertThat(s.components()).containsExactly("unet");
                assertSameTensors("unet", st, s.weights("unet"));
            }
            try (ModelSource s = ModelImporter.importFrom(dir.resolve("diffusion_pytorch_model.safetensors.index.json"))) {
                assertSameTensors("unet", st, s.weights("unet"));
            }
        }
    }
}
