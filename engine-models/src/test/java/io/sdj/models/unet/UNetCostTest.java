package io.sdj.models.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.verify.GoldenCase;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link UNetCost} and the model's construction against counts made by the reference implementation: the golden UNet
 * cases' {@code parameter_count} and weight files, and the full-size configs of {@code architectures/} with the exact
 * parameter and MAC counts of its README.
 */
class UNetCostTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static final String[] UNET_CASES = {"unet-sd1-tiny", "unet-bksdm-tiny", "unet-sd2-tiny", "unet-lcm-tiny", "unet-separable-tiny",
            "unet-relu-attn-tiny", "unet-md-tiny", "unet-md-deep-tiny", "unet-snapfusion-tiny"};

    private static Path goldenCase(String name) {
        Path dir = GoldenCase.goldenDir().resolve(name);
        Assumptions.assumeTrue(Files.isDirectory(dir), "golden fixtures absent: " + dir + " (set -Dgolden.dir)");
        return dir;
    }

    /**
     * The model built from the config alone asks for exactly the tensors of the reference state_dict (same names,
     * same element counts), and UNetCost counts the same parameters as the case's {@code parameter_count}.
     */
    @ParameterizedTest
    @ValueSource(strings = {"unet-sd1-tiny", "unet-bksdm-tiny", "unet-sd2-tiny", "unet-lcm-tiny", "unet-separable-tiny",
            "unet-relu-attn-tiny", "unet-md-tiny", "unet-md-deep-tiny", "unet-snapfusion-tiny"})
    void parametersAndKeysEqualTheReference(String caseName) throws IOException {
        Path dir = goldenCase(caseName);
        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
        JsonNode caseJson = JSON.readTree(dir.resolve("case.json").toFile());
        UNetConfig c = UNetConfig.fromJson(config);
        SyntheticWeights synthetic = new SyntheticWeights(1);
        UNet2DConditionModel.load(config, synthetic);
        try (Safetensors st = Safetensors.open(dir.resolve("model.safetensors"))) {
            long total = 0;
            for (Safetensors.Entry e : st.entries().values()) total += e.numel();
            assertThat(new TreeSet<>(synthetic.names())).as(caseName + " weight names").isEqualTo(new TreeSet<>(st.names()));
            assertThat(UNetCost.parameters(c)).as(caseName).isEqualTo(total);
            assertThat(synthetic.parameters()).as(caseName).isEqualTo(total);
        }
        if (caseJson.has("parameter_count")) {
            assertThat(UNetCost.parameters(c)).as(caseName + " parameter_count").isEqualTo(caseJson.get("parameter_count").asLong());
        }
        if (caseJson.has("transformer2d_modules")) {
            assertThat(transformerModules(synthetic.names())).as(caseName + " transformer2d_modules")
                    .isEqualTo(expectedModules(caseJson.get("transformer2d_modules")));
        }
    }

    /** path → "layers/self" for every Transformer2DModel among the weight names. */
    static Map<String, String> transformerModules(Set<String> names) {
        Map<String, Integer> layers = new TreeMap<>();
        Map<String, Boolean> self = new TreeMap<>();
        for (String n : names) {
            int t = n.indexOf(".transformer_blocks.");
            if (t < 0) continue;
            String path = n.substring(0, t);
            String rest = n.substring(t + ".transformer_blocks.".length());
            int layer = Integer.parseInt(rest.substring(0, rest.indexOf('.')));
            layers.merge(path, layer + 1, Math::max);
            self.merge(path, rest.contains(".attn1."), Boolean::logicalOr);
        }
        Map<String, String> out = new TreeMap<>();
        for (var e : layers.entrySet()) out.put(e.getKey(), e.getValue() + "/" + self.get(e.getKey()));
        return out;
    }

    private static Map<String, String> expectedModules(JsonNode modules) {
        Map<String, String> out = new TreeMap<>();
        modules.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().get("layers").asInt() + "/" + e.getValue().get("self_attention").asBoolean()));
        return out;
    }

    /** architectures/README.md: exact parameters and MACs at a 64×64 and a 32×32 latent (batch 1, 77 tokens). */
    @ParameterizedTest
    @CsvSource({
            "sd15, 859520964, 401636720640, 90053222400",
            "bk-sdm-base, 579384964, 261496995840, 59206901760",
            "bk-sdm-small, 482346884, 255447203840, 57580421120",
            "bk-sdm-tiny, 323384964, 242754519040, 54403563520",
            "snapfusion, 846789764, 304808099840, 75770470400",
            "mobilediffusion, 371025988, 155593474048, 39538155520",
            "mobilediffusion-lite, 269108868, 101142986752, 25762791424"})
    void fullSizeArchitecturesMatchTheReferenceCounts(String name, long params, long macs64, long macs32) throws IOException {
        Path file = GoldenCase.goldenDir().resolve("architectures").resolve(name + ".json");
        Assumptions.assumeTrue(Files.isRegularFile(file), "golden fixtures absent: " + file);
        UNetConfig c = UNetConfig.fromJson(JSON.readTree(file.toFile()));
        assertThat(UNetCost.parameters(c)).as(name + " parameters").isEqualTo(params);
        assertThat(UNetCost.macs(c, 1, 64, 64, 77).total()).as(name + " MACs at 64×64").isEqualTo(macs64);
        assertThat(UNetCost.macs(c, 1, 32, 32, 77).total()).as(name + " MACs at 32×32").isEqualTo(macs32);
        assertThat(UNetCost.flops(c, 2, 64, 64, 77)).isEqualTo(4 * macs64);
    }

    /** The split by kind, from the README's GMAC columns (conv / linear / attention, two decimals). */
    @ParameterizedTest
    @CsvSource({
            "sd15, 221.97, 116.64, 63.03",
            "mobilediffusion, 49.35, 102.72, 3.52",
            "mobilediffusion-lite, 32.31, 66.04, 2.79",
            "snapfusion, 217.78, 78.70, 8.33"})
    void macsByKind(String name, double conv, double linear, double attention) throws IOException {
        Path file = GoldenCase.goldenDir().resolve("architectures").resolve(name + ".json");
        Assumptions.assumeTrue(Files.isRegularFile(file), "golden fixtures absent: " + file);
        UNetCost.Macs m = UNetCost.macs(UNetConfig.fromJson(JSON.readTree(file.toFile())), 1, 64, 64, 77);
        assertThat(Math.round(m.conv() / 1e7) / 100.0).isEqualTo(conv);
        assertThat(Math.round(m.linear() / 1e7) / 100.0).isEqualTo(linear);
        assertThat(Math.round(m.attention() / 1e7) / 100.0).isEqualTo(attention);
    }
}
