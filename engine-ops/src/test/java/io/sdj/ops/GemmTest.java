package io.sdj.ops;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * GEMM, Linear, Conv2d, DepthwiseConv2d and SeparableConv2d against double-precision references
 * ({@link GemmChecks} states the tolerance), with this JVM's {@link KernelVariant} here and every other variant
 * (vector width, register file, tile rows) in child JVMs.
 */
class GemmTest {
    @Test void gemmMatchesReference() { GemmChecks.gemmShapes(); }

    @Test void linearMatchesReferenceForEveryDtype() { GemmChecks.linearDtypes(); }

    @Test void convMatchesReference() { GemmChecks.convShapes(); }

    @Test void depthwiseAndSeparableMatchReference() { GemmChecks.depthwiseShapes(); }

    @Test void oneAndTwoThreadsAreBitIdentical() { GemmChecks.threadsBitIdentical(); }

    @Test void sixteenBitWeightsGiveTheBitsOfTheirWidenedValues() { GemmChecks.halfWeightsAsWidened(); }

    /**
     * The column tiles of a GEMM: whole panels, at most NC wide, enough for a couple per thread when there are few row
     * blocks, and shared out so that no thread gets more than an equal share plus one tile. The old rule (narrow NC a
     * panel at a time until there were tiles enough) split 64 × 1280 into 13, 13, 13 and 1 panels: 26 : 14 on two threads.
     */
    @Test
    void columnTilesShareTheWorkEvenly() {
        int nr = Gemm.panelWidth(), rowsPerGroup = GemmKernel.MRA;
        for (int threads = 1; threads <= 4; threads++) {
            for (int m : new int[]{1, 7, 64, 77, 256, 1000, 4096}) for (int k : new int[]{320, 5760}) {
                int mc = Gemm.rowBlock(m, Gemm.kSliceOf(m, k));
                for (int n = 1; n <= 12000; n += n < 400 ? 1 : 97) {
                    int w = Gemm.columnTileWidth(m, mc, n, threads), panels = (n + nr - 1) / nr, wp = w / nr;
                    int tilesM = (m + mc - 1) / mc, tilesN = (panels + wp - 1) / wp;
                    String at = "m " + m + ", n " + n + ", k " + k + ", threads " + threads + ": width " + w;
                    assertThat(w % nr).as(at).isZero();
                    assertThat(w).as(at).isBetween(nr, Math.max(nr, Gemm.NC));
                    int want = threads == 1 ? 1 : 2 * threads;
                    assertThat(tilesM * tilesN).as(at).isGreaterThanOrEqualTo(Math.min(want, tilesM * panels));
                    long total = 0, largest = 0;
                    for (int t = 0; t < tilesM * tilesN; t++) {
                        int rows = Math.min(mc, m - (t / tilesN) * mc), cols = Math.min(wp, panels - (t % tilesN) * wp);
                        long c = (long) ((rows + rowsPerGroup - 1) / rowsPerGroup) * cols;
                        total += c;
                        largest = Math.max(largest, c);
                    }
                    assertThat(Gemm.tileSpan(m, mc, panels, wp, threads)).as(at).isLessThanOrEqualTo((total + threads - 1) / threads + largest);
                    if (threads == 1) assertThat(w).as(at).isEqualTo(Math.min(Gemm.NC, panels * nr));
                }
            }
        }
        // the chosen width is within 1/EVEN_ENOUGH of the most even split, no wider one is
        for (int threads = 2; threads <= 4; threads++) {
            for (int m : new int[]{64, 77, 256, 1024, 2048, 4096}) {
                int mc = Gemm.rowBlock(m, Gemm.kSliceOf(m, 1280)), tilesM = (m + mc - 1) / mc;
                for (int n : new int[]{320, 640, 1280, 2560, 2880, 5120, 10240}) {
                    int panels = (n + nr - 1) / nr, widest = Math.min(Gemm.NC / nr, panels);
                    int want = Math.min(2 * threads, tilesM * panels);
                    long evenest = Long.MAX_VALUE;
                    for (int w = 1; w <= widest; w++) {
                        if (tilesM * ((panels + w - 1) / w) >= want) evenest = Math.min(evenest, Gemm.tileSpan(m, mc, panels, w, threads));
                    }
                    int chosen = Gemm.columnTileWidth(m, mc, n, threads) / nr;
                    String at = "m " + m + ", n " + n + ", threads " + threads + ": " + chosen + " panels";
                    assertThat(Gemm.tileSpan(m, mc, panels, chosen, threads) * Gemm.EVEN_ENOUGH).as(at).isLessThanOrEqualTo(evenest * (Gemm.EVEN_ENOUGH + 1));
                    for (int w = chosen + 1; w <= widest; w++) {
                        if (tilesM * ((panels + w - 1) / w) >= want) assertThat(Gemm.tileSpan(m, mc, panels, w, threads) * Gemm.EVEN_ENOUGH).as(at + ", not " + w).isGreaterThan(evenest * (Gemm.EVEN_ENOUGH + 1));
                    }
                }
            }
        }
        // large matrices keep wide tiles: one or two panels wide balanced them a percent or two better and ran slower
        assertThat(Gemm.columnTileWidth(4096, Gemm.rowBlock(4096, Gemm.kSliceOf(4096, 320)), 2880, 2)).as("4096 × 2880, two threads").isEqualTo(Gemm.NC);
        assertThat(Gemm.columnTileWidth(1024, Gemm.rowBlock(1024, Gemm.kSliceOf(1024, 5760)), 640, 2)).as("1024 × 640, two threads").isEqualTo(Math.min(Gemm.NC, 640));
        // the case that was 26 : 14: now an even split
        int mc64 = Gemm.rowBlock(64, Gemm.kSliceOf(64, 640)), panels = 1280 / nr;
        int w = Gemm.columnTileWidth(64, mc64, 1280, 2) / nr;
        long groups = (64 + rowsPerGroup - 1) / rowsPerGroup;
        assertThat(Gemm.tileSpan(64, mc64, panels, w, 2)).as("64 × 1280 on two threads").isEqualTo(groups * panels / 2);
    }

    /**
     * Row blocks of {@link Gemm#multiply}: whole register tiles, as few as keep a block's A slice (rows × K slice
     * floats) within half the L2, give or take the rounding up to whole tiles. One block fewer would not fit.
     */
    @Test
    void rowBlocksAreAsFewAsKeepTheirASliceInHalfTheL2() {
        int tile = GemmKernel.MRA;
        for (int m : new int[]{1, 12, 77, 256, 1000, 1024, 4096, 16384}) {
            for (int k : new int[]{40, 320, 1280, 5760}) {
                int kcs = Gemm.kSliceOf(m, k), rows = Gemm.rowBlock(m, kcs), blocks = (m + rows - 1) / rows;
                String at = "m " + m + ", K slice " + kcs + ": " + blocks + " blocks of " + rows + " rows";
                assertThat(rows % tile).as(at).isZero();
                assertThat(rows).as(at).isPositive();
                assertThat((long) (rows - tile) * kcs * Float.BYTES).as(at).isLessThanOrEqualTo(Gemm.A_BLOCK_BYTES);
                if (blocks > 1) {
                    long fewer = (long) ((m + blocks - 2) / (blocks - 1)) * kcs * Float.BYTES;
                    assertThat(fewer).as(at + ": one block fewer").isGreaterThan(Gemm.A_BLOCK_BYTES);
                }
            }
        }
    }

    /**
     * Every kernel variant narrower than this JVM's (a wider one would run the Vector API's scalar fallback for
     * minutes), each in a child JVM: "name" or "name mr" (the 4-row tile).
     */
    @ParameterizedTest
    /** "variant [rows of every tile (-Dsdj.gemm.mr)] [rows of the A-in-place GEMM tile (-Dsdj.gemm.linearRows)]". */
    @ValueSource(strings = {"avx512", "avx2", "sse", "neon", "avx2 4", "sse 4", "avx2 6 6", "avx512 6 4", "avx512 6 6", "neon 6 12"})
    void everyKernelVariantPassesTheSameChecks(String spec) throws Exception {
        String[] p = spec.split(" ");
        int bits = switch (p[0]) { case "avx512" -> 512; case "avx2" -> 256; default -> 128; };
        Assumptions.assumeTrue(bits <= FloatVector.SPECIES_PREFERRED.vectorBitSize(), "no " + bits + "-bit vectors here");
        List<String> flags = new ArrayList<>(List.of("-Dsdj.kernel=" + p[0]));
        if (p.length > 1) flags.add("-Dsdj.gemm.mr=" + p[1]);
        if (p.length > 2) flags.add("-Dsdj.gemm.linearRows=" + p[2]);
        String out = childChecks(flags);
        int mr = p.length > 1 ? Integer.parseInt(p[1]) : 6;
        boolean registers32 = p[0].equals("avx512") || p[0].equals("neon");
        int linear = p.length > 2 ? Integer.parseInt(p[2]) : mr == 4 || !registers32 ? 4 : p[0].equals("avx512") ? 12 : 6;
        int width = 2 * bits / 32;
        assertThat(out).contains("GemmChecks OK with " + p[0] + ": " + bits + "-bit vectors")
                .contains("tile " + linear + "×" + width + " (A " + (linear == 6 ? "in place" : "packed") + "; convolutions " + mr + "×" + width + ")");
    }

    /**
     * The GEMM on activations gives the same bits with every register tile height this JVM's variant allows (4 and 6
     * rows, and 12 with 32 registers), each in a child JVM: only the loop shape changes, never the order of a sum.
     */
    @Test void everyTileHeightGivesTheSameBits() throws Exception {
        List<String> heights = new ArrayList<>(List.of("4", "6"));
        if (KernelVariant.REGISTERS >= 32) heights.add("12");
        String first = null;
        for (String rows : heights) {
            String out = childChecks(List.of("-Dsdj.gemm.linearRows=" + rows), "bits");
            assertThat(out).contains("tile " + rows + "×");
            String bits = out.replaceAll("(?s).*GemmChecks bits (-?\\d+) with.*", "$1");
            if (first == null) first = bits;
            assertThat(bits).as("bits with %s-row tiles", rows).isEqualTo(first);
        }
    }

    /**
     * Each row group sweeping its columns (as for a large C, {@code -Dsdj.gemm.rowsOuterMinOutput}) instead of each
     * column panel passing over the row groups: the same checks pass and the same bits come out, in child JVMs (the
     * checks' shapes are far below the default threshold).
     */
    @Test void bothSweepOrdersPassTheChecksWithTheSameBits() throws Exception {
        List<String> rowsOuter = List.of("-Dsdj.gemm.rowsOuterMinOutput=1");
        assertThat(childChecks(rowsOuter)).contains("GemmChecks OK with");
        String bits = "(?s).*GemmChecks bits (-?\\d+) with.*";
        assertThat(childChecks(rowsOuter, "bits").replaceAll(bits, "$1"))
                .isEqualTo(childChecks(List.of(), "bits").replaceAll(bits, "$1"));
    }

    /** With C2 limited to AVX2 (16 ymm registers, as on an AVX2-only CPU), auto picks the avx2 variant. */
    @Test void autoPicksAvx2OnAnAvx2RegisterFile() throws Exception {
        String arch = System.getProperty("os.arch", "");
        Assumptions.assumeTrue(arch.equals("amd64") || arch.equals("x86_64"), "x86 only");
        Assumptions.assumeTrue(FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256, "needs AVX2");
        String out = childChecks(List.of("-XX:UseAVX=2", "-XX:MaxVectorSize=32"));
        assertThat(out).contains("GemmChecks OK with avx2: 256-bit vectors, 16 registers, tile 4×16 (A packed; convolutions 6×16)");
    }

    @Test void badVariantNameIsAClearError() throws Exception {
        ChildJvm.Result r = ChildJvm.start(GemmChecks.class, 2, List.of("-Dsdj.kernel=avx3"));
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.output()).contains("-Dsdj.kernel must be auto, avx512, avx2, sse or neon, got 'avx3'");
    }

    private static String childChecks(List<String> flags, String... args) throws Exception {
        return ChildJvm.run(GemmChecks.class, flags, args);
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
