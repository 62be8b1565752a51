package io.sdj.ops;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * GEMM, Linear, Conv2d, DepthwiseConv2d and SeparableConv2d against double-precision references
 * ({@link GemmChecks} states the tolerance), with the preferred vector species here and the 128- and 256-bit
 * species in child JVMs.
 */
class GemmTest {
    @Test void gemmMatchesReference() { GemmChecks.gemmShapes(); }

    @Test void linearMatchesReferenceForEveryDtype() { GemmChecks.linearDtypes(); }

    @Test void convMatchesReference() { GemmChecks.convShapes(); }

    @Test void depthwiseAndSeparableMatchReference() { GemmChecks.depthwiseShapes(); }

    @Test void oneAndTwoThreadsAreBitIdentical() { GemmChecks.threadsBitIdentical(); }

    @ParameterizedTest
    @ValueSource(ints = {128, 256})
    void narrowerSpeciesPassTheSameChecks(int bits) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(java, "--add-modules", "jdk.incubator.vector",
                "-Dsdj.gemm.vectorBits=" + bits, "-cp", System.getProperty("java.class.path"), GemmChecks.class.getName()));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as("child JVM with %d-bit vectors:\n%s", bits, out).isZero();
        assertThat(out).contains("GemmChecks OK").contains("S_" + bits + "_BIT");
    }

    @Test void tilesAreSplitByCostAndEachRunsExactlyOnce() {
        int saved = io.sdj.core.Parallel.threads();
        try {
            for (int threads = 1; threads <= 3; threads++) {
                io.sdj.core.Parallel.setThreads(threads);
                for (int tiles : new int[]{1, 2, 3, 7, 18, 100}) {
                    int[] runs = new int[tiles];
                    Gemm.runTiles(tiles, t -> 1 + (t * 7) % 5, (from, to) -> {
                        for (int t = from; t < to; t++) {
                            synchronized (runs) { runs[t]++; }
                        }
                    });
                    for (int t = 0; t < tiles; t++) assertThat(runs[t]).as("tile %d of %d, %d threads", t, tiles, threads).isEqualTo(1);
                }
            }
        } finally {
            io.sdj.core.Parallel.setThreads(saved);
        }
    }

    @Test void badInputsAreNamed() {
        var w = io.sdj.core.WeightTensor.ofFloats("blk.proj.weight", new float[6], 2, 3);
        Linear lin = new Linear(w, null);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> lin.forward(new io.sdj.core.Workspace(), io.sdj.core.Tensor.zeros(4, 5)))
                .hasMessageContaining("blk.proj.weight").hasMessageContaining("expected 3");
    }

}
