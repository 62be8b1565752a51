package io.sdj.weights;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzz targets (Jazzer) for the two weight-file readers: any input either opens and reads back every
 * tensor, or is refused with a {@link WeightsFormatException}; any other throwable is a finding. Only compiled in the
 * {@code fuzz} profile. Corpus: {@code src/test/resources/io/sdj/weights/WeightFileFuzzTargetInputs/<method>/}.
 */
class WeightFileFuzzTarget {
    private static Path write(byte[] data, String suffix) throws IOException {
        Path p = Files.createTempFile("sdj-fuzz", suffix);
        Files.write(p, data);
        return p;
    }

    @FuzzTest(maxDuration = "60s")
    void safetensors(byte[] data) throws IOException {
        Path p = write(data, ".safetensors");
        try (Safetensors st = Safetensors.open(p)) {
            for (String n : st.names()) {
                if (Safetensors.isFloat(st.entry(n).dtype())) st.weight(n).toFloats();
            }
        } catch (WeightsFormatException expected) {
            // a clean refusal
        } finally {
            Files.deleteIfExists(p);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void sdj(byte[] data) throws IOException {
        Path p = write(data, ".sdj");
        try (ModelFile mf = ModelFile.open(p, true)) {
            for (TensorRecord t : mf.tensors()) mf.weight(t).toFloats();
        } catch (WeightsFormatException expected) {
            // a clean refusal
        } finally {
            Files.deleteIfExists(p);
        }
    }
}
