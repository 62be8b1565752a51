package io.sdj.models.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.verify.Comparison;
import io.sdj.models.verify.GoldenCase;
import io.sdj.models.verify.Tolerance;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Every run of the UNet reference cases, within the case's tolerance; intermediates are compared to locate bugs. */
class UNetGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"unet-sd1-tiny", "unet-bksdm-tiny", "unet-sd2-tiny", "unet-lcm-tiny", "unet-separable-tiny",
            "unet-relu-attn-tiny", "unet-md-tiny", "unet-md-deep-tiny", "unet-snapfusion-tiny"})
    void reproducesReference(String caseName) throws IOException {
        Path dir = GoldenCase.goldenDir().resolve(caseName);
        Assumptions.assumeTrue(Files.isDirectory(dir), "golden fixtures absent: " + dir + " (set -Dgolden.dir)");
        GoldenCase gc = GoldenCase.load(dir);
        JsonNode config = JSON.readTree(gc.file("config.json").toFile());
        List<String> failures = new ArrayList<>();
        try (Safetensors weights = Safetensors.open(gc.file("model.safetensors"));
             Safetensors inputs = Safetensors.open(gc.file("inputs.safetensors"));
             Safetensors outputs = Safetensors.open(gc.file("outputs.safetensors"));
             Safetensors inter = Safetensors.open(gc.file("intermediates.safetensors"))) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(config, weights);
            Workspace ws = new Workspace();
            for (String run : gc.runNames()) {
                Tensor sample = tensor(inputs, run + "/sample");
                float[] t = inputs.floats(run + "/timestep");
                Tensor ehs = tensor(inputs, run + "/encoder_hidden_states");
                Tensor cond = inputs.contains(run + "/timestep_cond") ? tensor(inputs, run + "/timestep_cond") : null;
                Map<String, Tensor> traced = new LinkedHashMap<>();
                Trace trace = run.equals("r0") ? (name, x) -> traced.put(name, x.copy()) : Trace.NONE;
                Tensor out = unet.forward(ws, sample, t, ehs, cond, trace);
                for (var e : traced.entrySet()) {
                    String key = run + "/" + e.getKey();
                    if (!inter.contains(key)) continue;
                    Tensor ref = tensor(inter, key);
                    assertThat(e.getValue().shape()).as(key).containsExactly(ref.shape());
                    System.out.println(caseName + " intermediate " + Comparison.of(key, e.getValue().toArray(), ref.toArray(), new Tolerance(1e-4 * Math.max(1, maxAbs(ref)), 1e-4)));
                }
                Tensor ref = tensor(outputs, run + "/sample");
                assertThat(out.shape()).as(run).containsExactly(ref.shape());
                Comparison c = Comparison.of(run + "/sample", out.toArray(), ref.toArray(), gc.tolerance(run + "/sample"));
                System.out.println(caseName + " " + c);
                if (!c.passed()) failures.add(c.toString());
                ws.release(out);
            }
        }
        assertThat(failures).as(caseName).isEmpty();
    }

    static Tensor tensor(Safetensors st, String name) {
        return Tensor.of(st.floats(name), st.entry(name).intShape());
    }

    private static double maxAbs(Tensor t) {
        double m = 0;
        float[] d = t.data();
        for (int i = 0; i < t.numel(); i++) m = Math.max(m, Math.abs(d[i]));
        return m;
    }
}
