package io.sdj.models.lora;

import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.weights.SafetensorsWriter;
import io.sdj.weights.WeightMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The merge rule on small random weights, against a double-precision evaluation written out here. */
class LoraMergeTest {
    @TempDir
    Path tmp;

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private final Random rnd = new Random(7);
    // a Linear [5, 3] and a 3×3 conv [4, 2, 3, 3] under diffusers names with ambiguous underscores
    private final float[] linear = random(rnd, 15), conv = random(rnd, 72);

    private WeightSource base() {
        WeightMap m = new WeightMap("base");
        m.put("down_blocks.0.attentions.0.proj_in.weight", () -> WeightTensor.ofFloats("down_blocks.0.attentions.0.proj_in.weight", linear.clone(), 5, 3));
        m.put("down_blocks.0.resnets.0.conv1.weight", () -> WeightTensor.ofFloats("down_blocks.0.resnets.0.conv1.weight", conv.clone(), 4, 2, 3, 3));
        m.put("down_blocks.0.resnets.0.conv1.bias", () -> WeightTensor.ofFloats("down_blocks.0.resnets.0.conv1.bias", new float[4], 4));
        return m;
    }

    /** W + Σ m·(alpha/r)·up@down in double. */
    private static double[] reference(float[] w, int rows, List<float[][]> ups, List<float[][]> downs, double[] factors) {
        int cols = w.length / rows;
        double[] out = new double[w.length];
        for (int i = 0; i < w.length; i++) out[i] = w[i];
        for (int l = 0; l < ups.size(); l++) {
            float[] up = ups.get(l)[0], down = downs.get(l)[0];
            int r = up.length / rows;
            for (int o = 0; o < rows; o++)
                for (int c = 0; c < cols; c++) {
                    double s = 0;
                    for (int j = 0; j < r; j++) s += (double) up[o * r + j] * down[j * cols + c];
                    out[o * cols + c] += factors[l] * s;
                }
        }
        return out;
    }

    @Test
    void twoLorasKohyaAndPeftAddUp() {
        float[] d1 = random(rnd, 2 * 3), u1 = random(rnd, 5 * 2), cd = random(rnd, 3 * 18), cu = random(rnd, 4 * 3);
        float[] d2 = random(rnd, 1 * 3), u2 = random(rnd, 5 * 1);
        Map<String, WeightTensor> kohya = new LinkedHashMap<>();
        kohya.put("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", WeightTensor.ofFloats("a", d1, 2, 3));
        kohya.put("lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", WeightTensor.ofFloats("b", u1, 5, 2));
        kohya.put("lora_unet_down_blocks_0_attentions_0_proj_in.alpha", WeightTensor.ofFloats("c", new float[]{1f}));
        kohya.put("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight", WeightTensor.ofFloats("d", cd, 3, 2, 3, 3));
        kohya.put("lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight", WeightTensor.ofFloats("e", cu, 4, 3, 1, 1));
        Path k = tmp.resolve("style.safetensors");
        SafetensorsWriter.write(k, kohya, Map.of());
        Map<String, WeightTensor> peft = new LinkedHashMap<>();
        peft.put("unet.down_blocks.0.attentions.0.proj_in.lora_A.weight", WeightTensor.ofFloats("a", d2, 1, 3));
        peft.put("unet.down_blocks.0.attentions.0.proj_in.lora_B.weight", WeightTensor.ofFloats("b", u2, 5, 1));
        Path p = tmp.resolve("detail.safetensors");
        SafetensorsWriter.write(p, peft, Map.of());
        try (LoraFile a = LoraFile.open(k); LoraFile b = LoraFile.open(p)) {
            LoraMerge merge = new LoraMerge(List.of(new LoraMerge.Use(a, 0.8f), new LoraMerge.Use(b, -0.5f)));
            WeightSource w = merge.apply(LoraFile.Part.UNET, base());
            assertThat(merge.unmatched()).isEmpty();
            double[] lin = reference(linear, 5, List.of(new float[][]{u1}, new float[][]{u2}), List.of(new float[][]{d1}, new float[][]{d2}),
                    new double[]{0.8 * 1 / 2.0, -0.5});
            double[] cv = reference(conv, 4, List.<float[][]>of(new float[][]{cu}), List.<float[][]>of(new float[][]{cd}), new double[]{0.8});
            float[] gotLin = w.get("down_blocks.0.attentions.0.proj_in.weight").toFloats();
            float[] gotConv = w.get("down_blocks.0.resnets.0.conv1.weight").toFloats();
            for (int i = 0; i < lin.length; i++) assertThat((double) gotLin[i]).isCloseTo(lin[i], org.assertj.core.data.Offset.offset(1e-5));
            for (int i = 0; i < cv.length; i++) assertThat((double) gotConv[i]).isCloseTo(cv[i], org.assertj.core.data.Offset.offset(1e-5));
            assertThat(w.get("down_blocks.0.resnets.0.conv1.weight").shape()).containsExactly(4, 2, 3, 3);
            // untouched tensors are the base's own, and the base is never written
            assertThat(w.get("down_blocks.0.resnets.0.conv1.bias").toFloats()).containsOnly(0f);
            assertThat(base().get("down_blocks.0.attentions.0.proj_in.weight").toFloats()).containsExactly(linear);
            // multiplier 0 gives the base weights exactly
            LoraMerge zero = new LoraMerge(List.of(new LoraMerge.Use(a, 0f)));
            assertThat(zero.apply(LoraFile.Part.UNET, base()).get("down_blocks.0.attentions.0.proj_in.weight").toFloats()).containsExactly(linear);
        }
    }

    @Test
    void olderDiffusersSpellingsNameTheSameModules() {
        assertThat(LoraFile.modulePath("down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora"))
                .isEqualTo("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q");
        assertThat(LoraFile.modulePath("mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora"))
                .isEqualTo("mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0");
        assertThat(LoraFile.modulePath("text_model.encoder.layers.0.self_attn.q_proj")).isEqualTo("text_model.encoder.layers.0.self_attn.q_proj");
        Map<String, WeightTensor> t = new LinkedHashMap<>();
        t.put("unet.down_blocks.0.attentions.0.proj_in.lora.down.weight", WeightTensor.ofFloats("a", new float[3], 1, 3));
        t.put("unet.down_blocks.0.attentions.0.proj_in.lora.up.weight", WeightTensor.ofFloats("b", new float[5], 5, 1));
        Path f = tmp.resolve("old.safetensors");
        SafetensorsWriter.write(f, t, Map.of());
        try (LoraFile l = LoraFile.open(f)) {
            LoraMerge merge = new LoraMerge(List.of(new LoraMerge.Use(l, 1f)));
            merge.apply(LoraFile.Part.UNET, base());
            assertThat(merge.unmatched()).isEmpty();
        }
    }

    @Test
    void unmatchedKeysAreReportedAndMisfitShapesRefused() {
        Map<String, WeightTensor> t = new LinkedHashMap<>();
        t.put("lora_unet_mid_block_attentions_0_proj_in.lora_down.weight", WeightTensor.ofFloats("a", new float[6], 2, 3));
        t.put("lora_unet_mid_block_attentions_0_proj_in.lora_up.weight", WeightTensor.ofFloats("b", new float[10], 5, 2));
        t.put("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", WeightTensor.ofFloats("a", new float[6], 2, 3));
        t.put("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", WeightTensor.ofFloats("b", new float[10], 5, 2));
        t.put("lora_unet_x.hada_w1_a", WeightTensor.ofFloats("h", new float[2], 2));
        Path f = tmp.resolve("other.safetensors");
        SafetensorsWriter.write(f, t, Map.of());
        try (LoraFile l = LoraFile.open(f)) {
            LoraMerge merge = new LoraMerge(List.of(new LoraMerge.Use(l, 1f)));
            merge.apply(LoraFile.Part.UNET, base());
            assertThat(merge.unmatchedReport()).singleElement().asString()
                    .isEqualTo("LoRA other: 3 of 3 entries match no module of the model and were not applied, e.g. "
                            + "lora_unet_mid_block_attentions_0_proj_in, lora_te_text_model_encoder_layers_0_mlp_fc1, lora_unet_x.hada_w1_a");
        }
        Map<String, WeightTensor> bad = new LinkedHashMap<>();
        bad.put("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", WeightTensor.ofFloats("a", new float[8], 2, 4));
        bad.put("lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", WeightTensor.ofFloats("b", new float[10], 5, 2));
        Path g = tmp.resolve("bad.safetensors");
        SafetensorsWriter.write(g, bad, Map.of());
        try (LoraFile l = LoraFile.open(g)) {
            LoraMerge merge = new LoraMerge(List.of(new LoraMerge.Use(l, 1f)));
            assertThatThrownBy(() -> merge.apply(LoraFile.Part.UNET, base())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("bad.safetensors").hasMessageContaining("[5, 2] @ down [2, 4]")
                    .hasMessageContaining("down_blocks.0.attentions.0.proj_in.weight' [5, 3]");
        }
    }
}
