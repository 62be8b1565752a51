package io.sdj.ops;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Which GEMM micro-kernels this JVM runs: vector width, register file, register tile and cache blocking, chosen once
 * at startup for the vector unit the JIT actually has, so that {@link GemmKernel}, {@link Gemm}, {@link PackedMatrix},
 * {@link ConvPatches} and {@link AttentionKernel} see them as {@code static final} constants.
 * <p>What the register file changes: a 6-row tile (6 rows × 2 vectors = 12 accumulators) plus two B vectors plus the
 * broadcasts of A needs more than 16 registers whenever C2 schedules several broadcasts ahead of their multiply-adds,
 * and it does. At 256 bits with 16 ymm registers ({@code -XX:UseAVX=2}, which gives C2 exactly an AVX2 CPU's register
 * file) the convolution kernel's loop kept one accumulator on the stack — load, FMA, store every step, so each step
 * waited for a store-to-load forward plus the FMA latency: 68 instead of 100 GFLOP/s with the operands in L1. With 32
 * registers (AVX-512) it does not spill. So with 16 registers the convolution kernel runs the loop form that compiled
 * without spills (k unrolled by two), and attention's P·V runs two vectors wide instead of three (12 accumulators +
 * 3 V vectors + broadcasts). Same emulated register file, thread CPU time, 2026-12-06: convolutions 51–54 → 66–74
 * GFLOP/s, attention at head dim 40 23 → 39. The GEMM kernel that reads A in place had compiled spill-free in the
 * GEMM benchmark, but inside the UNet it kept four accumulators on the stack (see {@link #LINEAR_ROWS}), so with 16
 * registers {@link Gemm#multiply} runs the 4-row tile with A packed. With 32 registers (AVX-512) it runs a 12-row tile
 * with A packed (24 accumulators): twice the FMAs per loop step for the same B loads, so the loop's scalar work takes
 * fewer of the issue slots; 2–18% faster than the 6-row in-place tile at the UNet's and the GEMM shapes
 * (see {@link #LINEAR_ROWS}).
 * <ul>
 * <li>{@code avx512}: 512-bit vectors, 32 registers, tile 12 × 32 with A packed for {@link Gemm#multiply}, 6 × 32 for
 *     convolutions.</li>
 * <li>{@code avx2}: 256-bit vectors, 16 registers, tile 6 × 16 for convolutions, 4 × 16 with A packed for
 *     {@link Gemm#multiply}, spill-free loop forms.</li>
 * <li>{@code sse}: 128-bit vectors, 16 registers, tiles 6 × 8 and 4 × 8, as avx2.</li>
 * <li>{@code neon}: 128-bit vectors, 32 registers (AArch64), tile 6 × 8 with A read in place (the 12-row tile packs A
 *     with gathers, which NEON lacks; not measured on such a host).</li>
 * </ul>
 * Blocking: K slices of 512 (GEMM) and 384 (convolution) measured best on the AVX-512 hosts and on the emulated AVX2
 * register file alike; the GEMM's row blocks are as few as keep each block's A slice within half the L2 cache (read
 * from Linux sysfs, see {@link Gemm#rowBlock}).
 * <p>{@code -Dsdj.kernel=auto|avx512|avx2|sse|neon} overrides the choice (default {@code auto}: the JVM's preferred
 * vector species and, for 128 bits, the architecture); the older {@code -Dsdj.gemm.vectorBits=512|256|128} still
 * selects avx512, avx2 or sse. {@code -Dsdj.gemm.mr=4} switches to a 4-row tile (8 accumulators + 2 + 4 broadcasts:
 * cannot spill with 16 registers) with A packed per row block; it measured 15–20% slower than the 6-row kernels
 * on the emulated AVX2 register file (2026-12-06) and is kept for hosts whose JIT spills those. The tests run every
 * variant in child JVMs.
 */
public final class KernelVariant {
    /** Variant name: avx512, avx2, sse or neon. */
    static final String NAME = chooseName();
    /** The vector species of every GEMM and convolution kernel. */
    static final VectorSpecies<Float> SPECIES = switch (NAME) {
        case "avx512" -> FloatVector.SPECIES_512;
        case "avx2" -> FloatVector.SPECIES_256;
        default -> FloatVector.SPECIES_128;
    };
    /** Vector registers the kernels are shaped for. */
    static final int REGISTERS = NAME.equals("avx512") || NAME.equals("neon") ? 32 : 16;
    /** Rows of the register tile: 6, or 4 with {@code -Dsdj.gemm.mr=4}. */
    static final int MR = chooseRows();
    /**
     * Rows of {@link Gemm#multiply}'s register tile, where A (the activations) is the broadcast operand: 12 packed per
     * row block on AVX-512, 6 read in place on NEON, 4 packed with 16 registers (or with {@code -Dsdj.gemm.mr=4});
     * {@code -Dsdj.gemm.linearRows=4|6|12} overrides (6 needs MR 6, 12 needs 32 registers). The 12-row tile against
     * the 6-row one, same build, alternated processes, three rounds, medians (AVX-512 host, 2026-12-06 22:25–22:40
     * UTC): 1.02–1.16× on one thread and 1.01–1.18× on two at the ten GEMM shapes of the UNets and the issue (e.g.
     * 4096 × 320 × 1280 on two threads 245 → 290 GFLOP/s, 2048³ 237 → 253). A GEMM whose tiles have at most four
     * column panels still runs the 6-row in-place kernel (too few panels to pay for packing A; see {@link Gemm}).
     * With 16 registers the 6-row in-place kernel needs
     * 12 accumulators, 2 B vectors and the broadcasts, and C2 issues all six broadcasts before the FMAs: inside the
     * UNet (AVX2 emulated, {@code sdj profile --arch bk-sdm-tiny}, 2026-12-06) it kept four accumulators on the stack,
     * a load, FMA and store per step, where a GEMM benchmarked alone had compiled without spills.
     */
    static final int LINEAR_ROWS = chooseLinearRows();
    /** Whether {@link Gemm#multiply} packs each block of A before the kernels (4- and 12-row tiles) or reads A rows in place. */
    static final boolean PACK_A = LINEAR_ROWS != 6;
    /** Size of the L2 cache (Linux sysfs; 512 KiB where that cannot be read). */
    static final long L2 = cacheBytes(2, 512 << 10);
    /** Target K slice of {@link Gemm#multiply}. */
    static final int KC = Integer.getInteger("sdj.gemm.kc", 512);
    /** Target K slice of {@link Gemm#multiplyPacked} (convolutions). */
    static final int KC_PACKED = Integer.getInteger("sdj.gemm.kcPacked", 384);
    /**
     * Rows per row block of {@link Gemm#multiply} fixed by {@code -Dsdj.gemm.mcRows} (in units of MR rows, for
     * experiments), or 0: derived from the L2 size and each call's K slice ({@link Gemm#rowBlock}).
     */
    static final int MC_FIXED = Integer.getInteger("sdj.gemm.mcRows", 0) * MR;

    private KernelVariant() {}

    /**
     * One line for benchmark reports, e.g. "avx2: 256-bit vectors, 16 registers, tile 4×16 (A packed; convolutions
     * 6×16), KC 512/384, A block ≤ 256 KiB": the tile of {@link Gemm#multiply}, then the convolutions' tile, the K
     * slices, and the budget of a row block's A slice (or "MC" and the rows fixed by {@code -Dsdj.gemm.mcRows}).
     */
    public static String describe() {
        return String.format(Locale.ROOT, "%s: %d-bit vectors, %d registers, tile %d×%d (A %s; convolutions %d×%d), KC %d/%d, %s",
                NAME, SPECIES.vectorBitSize(), REGISTERS, LINEAR_ROWS, 2 * SPECIES.length(), PACK_A ? "packed" : "in place",
                MR, 2 * SPECIES.length(), KC, KC_PACKED,
                MC_FIXED > 0 ? "MC " + MC_FIXED : "A block ≤ " + (L2 / 2 >> 10) + " KiB");
    }

    /**
     * Vector registers a kernel compiled for species {@code s} can count on: at the variant's own width, the variant's
     * ({@link #REGISTERS}: so {@code -Dsdj.kernel=neon} gives the 128-bit attention kernels NEON's 32 on any CPU, which
     * is how the tests run those paths on x86); at other widths 32 for 512-bit vectors and on AArch64, else 16 (x86
     * without AVX-512, or any x86 kernel narrower than the CPU's).
     */
    static int registersFor(VectorSpecies<Float> s) {
        if (s.vectorBitSize() == SPECIES.vectorBitSize()) return REGISTERS;
        return s.vectorBitSize() >= 512 || System.getProperty("os.arch", "").contains("aarch64") ? 32 : 16;
    }

    /** The variant's name (avx512, avx2, sse or neon). */
    public static String name() { return NAME; }

    private static String chooseName() {
        String p = System.getProperty("sdj.kernel");
        if (p == null || p.isBlank() || p.trim().equals("auto")) {
            String bits = System.getProperty("sdj.gemm.vectorBits");
            if (bits != null && !bits.isBlank()) {
                return switch (bits.trim()) {
                    case "512" -> "avx512";
                    case "256" -> "avx2";
                    case "128" -> "sse";
                    default -> throw new IllegalArgumentException("-Dsdj.gemm.vectorBits must be 128, 256 or 512, got '" + bits + "'");
                };
            }
            return auto();
        }
        return switch (p.trim().toLowerCase(Locale.ROOT)) {
            case "avx512", "avx2", "sse", "neon" -> p.trim().toLowerCase(Locale.ROOT);
            default -> throw new IllegalArgumentException("-Dsdj.kernel must be auto, avx512, avx2, sse or neon, got '" + p + "'");
        };
    }

    /** From the preferred species and, at 256 bits and below, the register file (AVX-512 CPUs give C2 32 registers). */
    private static String auto() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (bits >= 512) return "avx512";
        boolean arm = System.getProperty("os.arch", "").contains("aarch64");
        if (arm) return "neon";
        return bits == 256 ? "avx2" : "sse";
    }

    private static int chooseLinearRows() {
        String p = System.getProperty("sdj.gemm.linearRows");
        if (p == null || p.isBlank()) return MR == 4 || REGISTERS < 32 ? 4 : NAME.equals("avx512") ? 12 : 6;
        int rows = switch (p.trim()) {
            case "4" -> 4;
            case "6" -> 6;
            case "12" -> 12;
            default -> throw new IllegalArgumentException("-Dsdj.gemm.linearRows must be 4, 6 or 12, got '" + p + "'");
        };
        if (rows == 6 && MR != 6) throw new IllegalArgumentException("-Dsdj.gemm.linearRows=6 needs 6-row tiles, but -Dsdj.gemm.mr=" + MR);
        if (rows == 12 && REGISTERS < 32) {
            throw new IllegalArgumentException("-Dsdj.gemm.linearRows=12 needs 32 vector registers, but the " + NAME + " variant has " + REGISTERS);
        }
        return rows;
    }

    private static int chooseRows() {
        int mr = Integer.getInteger("sdj.gemm.mr", 6);
        if (mr != 4 && mr != 6) throw new IllegalArgumentException("-Dsdj.gemm.mr must be 4 or 6, got " + mr);
        return mr;
    }

    /** Size of the level-{@code level} data (or unified) cache of CPU 0 from Linux sysfs, else {@code fallback}. */
    private static long cacheBytes(int level, long fallback) {
        try {
            for (int i = 0; i < 8; i++) {
                Path d = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i);
                if (!Files.isDirectory(d)) break;
                if (!Files.readString(d.resolve("level")).trim().equals(Integer.toString(level))) continue;
                String type = Files.readString(d.resolve("type")).trim();
                if (type.equals("Instruction")) continue;
                String s = Files.readString(d.resolve("size")).trim().toUpperCase(Locale.ROOT);
                long mult = s.endsWith("K") ? 1024 : s.endsWith("M") ? 1024 * 1024 : 1;
                return Long.parseLong(s.replaceAll("[^0-9]", "")) * mult;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux or not readable: fall back
        }
        return fallback;
    }
}
