package io.sdj.models.sampling;

import io.sdj.models.verify.CaseOutputs;
import io.sdj.models.verify.GoldenCase;
import io.sdj.models.verify.PhiloxCaseRunner;
import io.sdj.models.verify.Produced;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link PhiloxGenerator} against A1111's NV source (golden case rng-philox): every value bit for bit. */
class PhiloxGeneratorGoldenTest {

    private static GoldenCase philoxCase() {
        Path dir = GoldenCase.goldenDir().resolve("rng-philox");
        assumeTrue(Files.isDirectory(dir), "golden case rng-philox not found at " + dir);
        return GoldenCase.load(dir);
    }

    @Test
    void everyOutputAndEveryPhiloxWordIsBitExact() throws Exception {
        GoldenCase c = philoxCase();
        CaseOutputs got = new PhiloxCaseRunner().run(c, true);
        List<String> bad = new ArrayList<>();
        int values = 0;
        try (Safetensors out = Safetensors.open(c.file("outputs.safetensors"))) {
            for (String name : out.entries().keySet()) {
                Produced p = got.outputs().get(name);
                assertThat(p).as(name).isNotNull();
                assertThat(p.shape()).as(name).containsExactly(out.entry(name).intShape());
                float[] ref = out.floats(name);
                for (int i = 0; i < ref.length; i++) {
                    if (Float.floatToRawIntBits(ref[i]) != Float.floatToRawIntBits(p.floats()[i])) {
                        bad.add(name + "[" + i + "]: " + p.floats()[i] + " vs " + ref[i]);
                        break;
                    }
                }
                values += ref.length;
            }
        }
        assertThat(bad).isEmpty();
        assertThat(values).isGreaterThan(100_000);
        try (Safetensors im = Safetensors.open(c.file("intermediates.safetensors"))) {
            assertThat(got.intermediates().keySet()).containsExactlyInAnyOrderElementsOf(im.entries().keySet());
            for (Map.Entry<String, Produced> e : got.intermediates().entrySet()) {
                assertThat(e.getValue().longs()).as(e.getKey()).containsExactly(im.longs(e.getKey()));
            }
        }
    }

    @Test
    void drawsAdvanceByOneWhateverTheirSizeAndDependOnTheShapeOnlyThroughTheCount() {
        PhiloxGenerator a = new PhiloxGenerator(7), b = new PhiloxGenerator(7);
        float[] big = a.randn(4, 64, 64);
        float[] small = b.randn(3, 5);
        for (int i = 0; i < small.length; i++) assertThat(small[i]).isEqualTo(big[i]);
        assertThat(a.randn(2, 3)).containsExactly(b.randn(6));
        assertThat(a.drawCount()).isEqualTo(2);
    }

    @Test
    void theKeyIsTheSeedsUnsigned64Bits() {
        // 2^64 − 1 and −1 are the same key; 2^32 differs from 0 only in the high key word
        assertThat(new PhiloxGenerator(-1L).randn(16)).containsExactly(new PhiloxGenerator(0xFFFFFFFFFFFFFFFFL).randn(16));
        assertThat(new PhiloxGenerator(1L << 32).randn(16)).isNotEqualTo(new PhiloxGenerator(0).randn(16));
        assertThat(RngKind.parse("cuda").create(5).next(4)).containsExactly(new PhiloxGenerator(5).randn(4));
        assertThat(RngKind.parse("CPU").create(5).next(4)).containsExactly(new TorchGenerator(5).randn(4));
    }
}
