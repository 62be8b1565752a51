package io.sdj.models.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.core.DType;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.verify.GoldenCase;
import io.sdj.ops.PackedMatrix;
import io.sdj.weights.Safetensors;
import io.sdj.weights.WeightMap;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A UNet whose weights are F16/BF16 (the reference cases' weights rounded, as a half-precision file holds them) runs
 * with its matrices packed in 16 bits and widened in the kernels; it must give exactly the bits of the same UNet built
 * from those rounded values stored as F32 — the float32 packing the golden tests check against diffusers.
 */
class UNetHalfWeightsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"unet-sd1-tiny, F16", "unet-sd1-tiny, BF16", "unet-separable-tiny, F16", "unet-bksdm-tiny, BF16"})
    void sixteenBitWeightsGiveTheBitsOfTheirFloat32Values(String caseName, DType dtype) throws Exception {
        Assumptions.assumeTrue(PackedMatrix.packedType(dtype) == dtype, "-Dsdj.weights.packed=f32: nothing is packed in 16 bits");
        Path dir = GoldenCase.goldenDir().resolve(caseName);
        Assumptions.assumeTrue(Files.isDirectory(dir), "golden fixtures absent: " + dir + " (set -Dgolden.dir)");
        GoldenCase gc = GoldenCase.load(dir);
        JsonNode config = JSON.readTree(gc.file("config.json").toFile());
        try (Safetensors weights = Safetensors.open(gc.file("model.safetensors"));
             Safetensors inputs = Safetensors.open(gc.file("inputs.safetensors"))) {
            WeightMap half = new WeightMap(caseName + " " + dtype), widened = new WeightMap(caseName + " " + dtype + " widened to F32");
            for (String n : weights.names()) {
                WeightTensor h = rounded(weights.get(n), dtype);
                half.put(n, () -> h);
                WeightTensor w = WeightTensor.ofFloats(n, h.toFloats(), h.shape());
                widened.put(n, () -> w);
            }
            String run = gc.runNames().iterator().next();
            Tensor sample = tensor(inputs, run + "/sample"), ehs = tensor(inputs, run + "/encoder_hidden_states");
            float[] t = inputs.floats(run + "/timestep");
            Tensor cond = inputs.contains(run + "/timestep_cond") ? tensor(inputs, run + "/timestep_cond") : null;
            float[] a = forward(config, half, sample, t, ehs, cond), b = forward(config, widened, sample, t, ehs, cond);
            assertThat(a).hasSameSizeAs(b);
            for (int i = 0; i < a.length; i++) {
                assertThat(Float.floatToRawIntBits(a[i])).as("%s element %d: %s with 16-bit packing, %s with float32", caseName, i, a[i], b[i])
                        .isEqualTo(Float.floatToRawIntBits(b[i]));
            }
        }
    }

    private static float[] forward(JsonNode config, WeightSource w, Tensor sample, float[] t, Tensor ehs, Tensor cond) {
        UNet2DConditionModel unet = UNet2DConditionModel.load(config, w);
        return unet.forward(new Workspace(), sample, t, ehs, cond, Trace.NONE).toArray();
    }

    /** A float tensor rounded to dtype (round to nearest even), as a converter writes it. */
    private static WeightTensor rounded(WeightTensor t, DType dtype) {
        float[] v = t.toFloats();
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) s[i] = dtype == DType.F16 ? Float.floatToFloat16(v[i]) : DType.floatToBf16(v[i]);
        return new WeightTensor(t.name(), dtype, t.shape(), MemorySegment.ofArray(s), null);
    }

    private static Tensor tensor(Safetensors st, String name) {
        return Tensor.of(st.floats(name), st.entry(name).intShape());
    }
}
