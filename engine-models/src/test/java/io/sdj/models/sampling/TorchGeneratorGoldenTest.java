package io.sdj.models.sampling;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.models.verify.GoldenCase;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Bit-exact reproduction of torch.randn on the CPU generator (golden case rng-torch-cpu). */
class TorchGeneratorGoldenTest {

    @Test
    void everyCallMatchesBitForBit() {
        Path dir = GoldenCase.goldenDir().resolve("rng-torch-cpu");
        assumeTrue(Files.isDirectory(dir), "golden case rng-torch-cpu not found at " + dir);
        GoldenCase c = GoldenCase.load(dir);
        List<String> failures = new ArrayList<>();
        int checked = 0;
        try (Safetensors out = Safetensors.open(dir.resolve("outputs.safetensors"))) {
            for (JsonNode call : c.json().path("calls")) {
                long seed = call.path("seed").asLong();
                TorchGenerator g = new TorchGenerator(seed);
                JsonNode names = call.path("output");
                if (names.isArray()) {
                    for (int k = 0; k < names.size(); k++) {
                        failures.addAll(compare(names.get(k).asText(), g.randn(shape(call.path("shape").get(k))), out));
                        checked++;
                    }
                } else {
                    failures.addAll(compare(names.asText(), g.randn(shape(call.path("shape"))), out));
                    checked++;
                }
            }
        }
        assertTrue(checked > 50, "expected many rng calls, found " + checked);
        assertEquals(List.of(), failures);
    }

    private static int[] shape(JsonNode s) {
        int[] r = new int[s.size()];
        for (int i = 0; i < r.length; i++) r[i] = s.get(i).asInt();
        return r;
    }

    private static List<String> compare(String name, float[] got, Safetensors out) {
        float[] ref = out.floats(name);
        List<String> bad = new ArrayList<>();
        if (ref.length != got.length) return List.of(name + ": length " + got.length + " vs " + ref.length);
        int mismatches = 0, firstBad = -1;
        for (int i = 0; i < ref.length; i++) {
            if (Float.floatToRawIntBits(ref[i]) != Float.floatToRawIntBits(got[i])) {
                if (firstBad < 0) firstBad = i;
                mismatches++;
            }
        }
        if (mismatches > 0) {
            bad.add(name + ": " + mismatches + "/" + ref.length + " differ, first at " + firstBad + ": got " + got[firstBad] + " expected " + ref[firstBad]);
        }
        return bad;
    }
}
