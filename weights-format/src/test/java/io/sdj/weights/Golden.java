package io.sdj.weights;

import io.sdj.core.DType;
import io.sdj.core.WeightTensor;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Golden fixture location and the per-dtype element checks shared by the importer tests. */
final class Golden {
    private Golden() {}

    static Path dir() {
        Path d = Path.of(System.getProperty("golden.dir", "../shared/golden"));
        Assumptions.assumeTrue(Files.isDirectory(d), "golden fixtures not found at " + d.toAbsolutePath() + " (set -Dgolden.dir)");
        return d;
    }

    static Path pipeline() {
        Path p = dir().resolve("pipeline-sd1-tiny");
        Assumptions.assumeTrue(Files.isDirectory(p), "golden case pipeline-sd1-tiny missing");
        return p;
    }

    /** {@code actual} (stored as {@code dtype}) against the F32 {@code expected}: bit-exact, one rounding step, or scale/2. */
    static void assertConverted(String what, WeightTensor expected, WeightTensor actual, DType dtype) {
        assertThat(actual.shape()).as(what).isEqualTo(expected.shape());
        DType stored = TensorEncoder.storedDType(expected, dtype);
        assertThat(actual.dtype()).as(what).isEqualTo(stored);
        long n = expected.numel();
        long rowLen = expected.shape().length == 0 || expected.shape()[0] == 0 ? 1 : n / expected.shape()[0];
        for (long i = 0; i < n; i++) {
            float v = expected.get(i), w = actual.get(i);
            switch (stored) {
                case F32 -> {
                    if (Float.floatToRawIntBits(w) != Float.floatToRawIntBits(v)) throw new AssertionError(what + "[" + i + "]: " + w + " != " + v);
                }
                case F16 -> {
                    double half = Math.max(Math.ulp(Math.abs(w)) * 8192.0, 0x1p-24) / 2;
                    if (!(Math.abs((double) w - v) <= half) || Float.floatToFloat16(w) != Float.floatToFloat16(v)) {
                        throw new AssertionError(what + "[" + i + "]: f16 " + w + " is not the rounding of " + v);
                    }
                }
                case BF16 -> {
                    if (w != ModelFileTest.bf16Reference(v)) throw new AssertionError(what + "[" + i + "]: bf16 " + w + " is not the rounding of " + v);
                }
                case I8 -> {
                    float scale = actual.scales()[(int) (i / rowLen)];
                    // |q·scale − v| ≤ scale/2 exactly; the float product q·scale adds at most half an ulp of the result
                    if (!(Math.abs((double) w - v) <= scale / 2.0 + Math.ulp(w) / 2.0)) {
                        throw new AssertionError(what + "[" + i + "]: int8 " + w + " vs " + v + " exceeds scale/2 = " + scale / 2);
                    }
                }
            }
        }
    }
}
