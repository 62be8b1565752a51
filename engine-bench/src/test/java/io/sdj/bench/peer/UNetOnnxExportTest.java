package io.sdj.bench.peer;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.verify.Comparison;
import io.sdj.models.verify.GoldenCase;
import io.sdj.ops.TimestepEmbedding;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The exported ONNX graph, run by ONNX Runtime, reproduces the reference outputs of every UNet case (diffusers', and
 * the project's reference for the efficient blocks) within their tolerances: the peer comparison times the same model
 * sdj runs, not a look-alike.
 */
class UNetOnnxExportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"unet-sd1-tiny", "unet-bksdm-tiny", "unet-sd2-tiny", "unet-lcm-tiny", "unet-separable-tiny",
            "unet-relu-attn-tiny", "unet-md-tiny", "unet-md-deep-tiny", "unet-snapfusion-tiny"})
    void onnxRuntimeReproducesTheReference(String caseName, @TempDir Path tmp) throws Exception {
        Path dir = GoldenCase.goldenDir().resolve(caseName);
        Assumptions.assumeTrue(Files.isDirectory(dir), "golden fixtures absent: " + dir + " (set -Dgolden.dir)");
        GoldenCase gc = GoldenCase.load(dir);
        UNetConfig config = UNetConfig.fromJson(JSON.readTree(gc.file("config.json").toFile()));
        Path model = tmp.resolve("unet.onnx");
        List<String> failures = new ArrayList<>();
        try (Safetensors weights = Safetensors.open(gc.file("model.safetensors"));
             Safetensors inputs = Safetensors.open(gc.file("inputs.safetensors"));
             Safetensors outputs = Safetensors.open(gc.file("outputs.safetensors"))) {
            UNetOnnxExport.write(config, weights, model);
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                try (OrtSession session = env.createSession(model.toString(), opts)) {
                    for (String run : gc.runNames()) {
                        float[] t = inputs.floats(run + "/timestep");
                        Tensor timeProj = TimestepEmbedding.sinusoidal(new Workspace(), t, config.blockOutChannels()[0], config.flipSinToCos(), config.freqShift());
                        boolean cond = inputs.contains(run + "/timestep_cond");
                        try (OnnxTensor x = tensor(env, inputs, run + "/sample");
                             OnnxTensor tp = OnnxTensor.createTensor(env, FloatBuffer.wrap(timeProj.data()), longs(timeProj.shape()));
                             OnnxTensor ctx = tensor(env, inputs, run + "/encoder_hidden_states");
                             OnnxTensor tc = cond ? tensor(env, inputs, run + "/timestep_cond") : null;
                             OrtSession.Result r = session.run(cond
                                     ? Map.of("sample", x, "time_proj", tp, "encoder_hidden_states", ctx, "timestep_cond", tc)
                                     : Map.of("sample", x, "time_proj", tp, "encoder_hidden_states", ctx))) {
                            OnnxTensor out = (OnnxTensor) r.get("out_sample").orElseThrow();
                            assertThat(out.getInfo().getShape()).as(run).containsExactly(outputs.entry(run + "/sample").shape());
                            FloatBuffer b = out.getFloatBuffer();
                            float[] got = new float[b.remaining()];
                            b.get(got);
                            Comparison c = Comparison.of(run + "/sample", got, outputs.floats(run + "/sample"), gc.tolerance(run + "/sample"));
                            System.out.println(caseName + " ONNX Runtime " + c);
                            if (!c.passed()) failures.add(c.toString());
                        }
                    }
                }
            }
        }
        assertThat(failures).as(caseName).isEmpty();
        assertThat(Files.size(model.resolveSibling("unet.onnx.data"))).as("weights written as external data").isPositive();
    }

    /** One graph input holds the text embedding, so blocks that attend to texts of different widths are refused. */
    @Test
    void refusesCrossAttentionWidthsThatDifferByBlock(@TempDir Path tmp) throws Exception {
        Path dir = GoldenCase.goldenDir().resolve("unet-sd1-tiny");
        Assumptions.assumeTrue(Files.isDirectory(dir), "golden fixtures absent: " + dir + " (set -Dgolden.dir)");
        ObjectNode json = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        json.set("cross_attention_dim", JSON.createArrayNode().add(64).add(64).add(32).add(32));
        UNetConfig config = UNetConfig.fromJson(json);
        try (Safetensors weights = Safetensors.open(dir.resolve("model.safetensors"))) {
            assertThatThrownBy(() -> UNetOnnxExport.write(config, weights, tmp.resolve("unet.onnx")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cross_attention_dim must be the same for every block");
        }
    }

    private static OnnxTensor tensor(OrtEnvironment env, Safetensors st, String name) throws Exception {
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(st.floats(name)), st.entry(name).shape());
    }

    private static long[] longs(int[] shape) { return Arrays.stream(shape).asLongStream().toArray(); }
}
