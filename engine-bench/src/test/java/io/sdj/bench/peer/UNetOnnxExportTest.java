package io.sdj.bench.peer;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * The exported ONNX graph, run by ONNX Runtime, reproduces the diffusers reference outputs of the stock UNet cases
 * within their tolerances: the peer comparison times the same model sdj runs, not a look-alike.
 */
class UNetOnnxExportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"unet-sd1-tiny", "unet-bksdm-tiny", "unet-sd2-tiny"})
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
                        try (OnnxTensor x = tensor(env, inputs, run + "/sample");
                             OnnxTensor tp = OnnxTensor.createTensor(env, FloatBuffer.wrap(timeProj.data()), longs(timeProj.shape()));
                             OnnxTensor ctx = tensor(env, inputs, run + "/encoder_hidden_states");
                             OrtSession.Result r = session.run(Map.of("sample", x, "time_proj", tp, "encoder_hidden_states", ctx))) {
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

    @Test
    void refusesEfficientBlocks(@TempDir Path tmp) throws Exception {
        Path dir = GoldenCase.goldenDir().resolve("unet-md-tiny");
        Assumptions.assumeTrue(Files.isDirectory(dir), "golden fixtures absent: " + dir + " (set -Dgolden.dir)");
        UNetConfig config = UNetConfig.fromJson(JSON.readTree(dir.resolve("config.json").toFile()));
        try (Safetensors weights = Safetensors.open(dir.resolve("model.safetensors"))) {
            assertThatThrownBy(() -> UNetOnnxExport.write(config, weights, tmp.resolve("md.onnx")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only stock diffusers blocks");
        }
    }

    private static OnnxTensor tensor(OrtEnvironment env, Safetensors st, String name) throws Exception {
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(st.floats(name)), st.entry(name).shape());
    }

    private static long[] longs(int[] shape) { return Arrays.stream(shape).asLongStream().toArray(); }
}
