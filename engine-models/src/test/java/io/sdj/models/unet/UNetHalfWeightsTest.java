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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A UNet whose weights are F16/BF16 (the reference cases' weights rounded, as a half-precision file holds them) runs
 * with its matrices packed in 16 bits and widened in the kernels.
 * <ul>
 * <li>By default it must give exactly the bits of the same UNet built from those rounded values stored as F32 — the
 *     float32 packing the golden tests check against diffusers.</li>
 * <li>With {@code -Dsdj.conv.winogradWeights=f16} its F(2×2) Winograd layers keep their transformed weights in
 *     binary16, which rounds them once more: its output must then stay at most twice as far from the float32-packed
 *     UNet's as rounding the weights to 16 bits moved that one from the UNet with the case's float32 weights (run in a
 *     child JVM with that setting).</li>
 * </ul>
 */
class UNetHalfWeightsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[][] CASES = {{"unet-sd1-tiny", "F16"}, {"unet-sd1-tiny", "BF16"}, {"unet-separable-tiny", "F16"},
            {"unet-bksdm-tiny", "BF16"}};

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"unet-sd1-tiny, F16", "unet-sd1-tiny, BF16", "unet-separable-tiny, F16", "unet-bksdm-tiny, BF16"})
    void sixteenBitWeightsAgainstTheirFloat32Values(String caseName, DType dtype) throws Exception {
        Assumptions.assumeTrue(PackedMatrix.packedType(dtype) == dtype, "-Dsdj.weights.packed=f32: nothing is packed in 16 bits");
        Path dir = GoldenCase.goldenDir().resolve(caseName);
        Assumptions.assumeTrue(Files.isDirectory(dir), "golden fixtures absent: " + dir + " (set -Dgolden.dir)");
        float[][] out = outputs(caseName, dtype);
        float[] half = out[0], widened = out[1], original = out[2];
        if (!halfTransformedWeights()) {
            sameBits(caseName, half, widened);
            return;
        }
        double moved = 0, rounding = 0;
        for (int i = 0; i < half.length; i++) {
            moved = Math.max(moved, Math.abs(half[i] - widened[i]));
            rounding = Math.max(rounding, Math.abs(widened[i] - original[i]));
        }
        System.out.printf("%s %s: binary16 transformed weights moved the output by at most %.3g; rounding the weights to %s by %.3g%n",
                caseName, dtype, moved, dtype, rounding);
        assertThat(moved).as("%s %s: max |16-bit packing − float32 packing| against max |rounded weights − float32 weights|",
                caseName, dtype).isLessThanOrEqualTo(2 * rounding);
    }

    @Test
    void withBinary16TransformedWeightsSixteenBitWeightsStayWithinTheirOwnRounding() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(GoldenCase.goldenDir().resolve(CASES[0][0])), "golden fixtures absent (set -Dgolden.dir)");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(javaBin, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dsdj.conv.winogradWeights=f16", "-Dgolden.dir=" + GoldenCase.goldenDir().toAbsolutePath(),
                "-cp", System.getProperty("java.class.path"), UNetHalfWeightsTest.class.getName());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as("child JVM with -Dsdj.conv.winogradWeights=f16:%n%s", log).isZero();
        assertThat(log).contains("within their own rounding: " + CASES.length + " cases");
    }

    /** The child JVM of the test above: every case with binary16 transformed weights. */
    public static void main(String[] args) throws Exception {
        if (!halfTransformedWeights()) throw new IllegalStateException("run with -Dsdj.conv.winogradWeights=f16");
        UNetHalfWeightsTest t = new UNetHalfWeightsTest();
        for (String[] c : CASES) t.sixteenBitWeightsAgainstTheirFloat32Values(c[0], DType.valueOf(c[1]));
        System.out.println("within their own rounding: " + CASES.length + " cases");
    }

    private static boolean halfTransformedWeights() {
        return "f16".equalsIgnoreCase(System.getProperty("sdj.conv.winogradWeights", "f32").trim());
    }

    private static void sameBits(String what, float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        for (int i = 0; i < a.length; i++) {
            assertThat(Float.floatToRawIntBits(a[i])).as("%s element %d: %s with 16-bit packing, %s with float32", what, i, a[i], b[i])
                    .isEqualTo(Float.floatToRawIntBits(b[i]));
        }
    }

    /** The case's first run through its UNet with the weights rounded to dtype, those stored as F32, and the case's own. */
    private static float[][] outputs(String caseName, DType dtype) throws Exception {
        GoldenCase gc = GoldenCase.load(GoldenCase.goldenDir().resolve(caseName));
        JsonNode config = JSON.readTree(gc.file("config.json").toFile());
        try (Safetensors weights = Safetensors.open(gc.file("model.safetensors"));
             Safetensors inputs = Safetensors.open(gc.file("inputs.safetensors"))) {
            WeightMap half = new WeightMap(caseName + " " + dtype), widened = new WeightMap(caseName + " " + dtype + " widened to F32"),
                    original = new WeightMap(caseName);
            for (String n : weights.names()) {
                WeightTensor o = weights.get(n);
                WeightTensor h = rounded(o, dtype);
                half.put(n, () -> h);
                WeightTensor w = WeightTensor.ofFloats(n, h.toFloats(), h.shape());
                widened.put(n, () -> w);
                original.put(n, () -> o);
            }
            String run = gc.runNames().iterator().next();
            Tensor sample = tensor(inputs, run + "/sample"), ehs = tensor(inputs, run + "/encoder_hidden_states");
            float[] t = inputs.floats(run + "/timestep");
            Tensor cond = inputs.contains(run + "/timestep_cond") ? tensor(inputs, run + "/timestep_cond") : null;
            return new float[][]{forward(config, half, sample, t, ehs, cond), forward(config, widened, sample, t, ehs, cond),
                    forward(config, original, sample, t, ehs, cond)};
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
