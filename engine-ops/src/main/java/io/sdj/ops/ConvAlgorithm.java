package io.sdj.ops;

/**
 * How {@link Conv2d} computes a stride-1 3×3 convolution, chosen with {@code -Dsdj.conv=direct|winograd|auto}
 * (default {@code auto}); every other convolution is always direct.
 * <ul>
 * <li>{@code direct}: the implicit GEMM over gathered patches ({@link ConvPatches}).</li>
 * <li>{@code winograd}: {@link WinogradConv3x3} for every stride-1 3×3 convolution, with the tile of {@link #tile}.</li>
 * <li>{@code auto} (default): Winograd where it is faster than direct, which needs enough channels to amortise the
 *     transforms and enough output tiles per weight byte (see {@link #enoughTiles}); F(4×4, 3×3) where the image has
 *     tiles enough for it, else F(2×2, 3×3), else direct. Winograd layers keep
 *     their transformed weights off-heap beside the direct ones (16/9 or 4 times their size).</li>
 * </ul>
 * The tile is F(4×4, 3×3) unless {@code -Dsdj.conv.winogradTile=2} asks for F(2×2, 3×3) (more accurate, less gain).
 * {@code -Dsdj.conv.winogradWeights=f32|f16}: whether F(2×2) keeps 16-bit weights' transformed form in float32
 * ({@code f32}, the default: a model's 16-bit weights give exactly the bits of the same values stored as float32) or
 * in binary16 ({@code f16}: half the memory, less accurate, see {@link WinogradConv3x3#transformedType}).
 * {@code -Dsdj.conv.f4MinPanels=n}: how many GEMM panels of 4×4 tiles {@code auto} needs for F(4×4) (default 8; see
 * {@link #F4_MIN_PANELS}).
 */
public enum ConvAlgorithm {
    DIRECT, WINOGRAD, AUTO;

    /** The JVM-wide choice from {@code -Dsdj.conv}. */
    static final ConvAlgorithm CONFIGURED = parse(System.getProperty("sdj.conv"));
    private static final WinogradConv3x3.Tile TILE = parseTile(System.getProperty("sdj.conv.winogradTile"));
    /** {@code -Dsdj.conv.winogradWeights=f16}: whether F(2×2) keeps 16-bit weights' transformed form in binary16. */
    static final boolean HALF_TRANSFORMED_WEIGHTS = parseHalfTransformed(System.getProperty("sdj.conv.winogradWeights"));
    /**
     * GEMM panels of 4×4 tiles {@code auto} needs for F(4×4) ({@code -Dsdj.conv.f4MinPanels}, default 8). 2 makes it
     * F(4×4) at a 32×32 latent too (64 tiles: the few-tiles split by output channels reads its transformed weights
     * once): faster there, for more memory. Intel Xeon KVM guest, AVX-512, 2026-12-07, JMH {@code ConvBenchmark}
     * (the same weights every call), two threads, 8 → 2: 640 → 640 at 32² 18.1 → 14.2–14.4 ms, 1280 → 640 42.0–42.3 →
     * 28.9–30.0, 1280 → 1280 73.1–79.8 → 51.9–56.1; one thread and emulated AVX2 1.2–1.45× too. In a whole UNet, whose
     * weights come from memory, less: {@code sdj profile --size 512}, alternated, BK-SDM-Tiny's forward 1.02–1.05× faster
     * (3 pairs), SD 1.5's time 0.92–1.04× (4 pairs); but the 32×32 level's transformed weights take 9/4 the memory
     * ({@code sdj generate}, BK-SDM-Tiny f16 file, 8 steps: peak RSS 3.8–3.9 → 4.3–4.4 GB) and a first image 1.00–1.07×
     * the time. So the default stays 8.
     */
    static final int F4_MIN_PANELS = parseMinPanels(System.getProperty("sdj.conv.f4MinPanels"));

    static ConvAlgorithm parse(String p) {
        if (p == null || p.isBlank()) return AUTO;
        return switch (p.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "direct" -> DIRECT;
            case "winograd" -> WINOGRAD;
            case "auto" -> AUTO;
            default -> throw new IllegalArgumentException("-Dsdj.conv must be direct, winograd or auto, got '" + p + "'");
        };
    }

    private static WinogradConv3x3.Tile parseTile(String p) {
        if (p == null || p.isBlank()) return WinogradConv3x3.Tile.F4;
        return switch (p.trim()) {
            case "2" -> WinogradConv3x3.Tile.F2;
            case "4" -> WinogradConv3x3.Tile.F4;
            default -> throw new IllegalArgumentException("-Dsdj.conv.winogradTile must be 2 or 4, got '" + p + "'");
        };
    }

    static int parseMinPanels(String p) {
        return io.sdj.core.Settings.atLeastOne("sdj.conv.f4MinPanels", p, "whole number of GEMM panels", 8);
    }

    static boolean parseHalfTransformed(String p) {
        if (p == null || p.isBlank()) return false;
        return switch (p.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "f32" -> false;
            case "f16" -> true;
            default -> throw new IllegalArgumentException("-Dsdj.conv.winogradWeights must be f32 or f16, got '" + p + "'");
        };
    }

    /** The Winograd tile used for every Winograd convolution. */
    static WinogradConv3x3.Tile tile() { return TILE; }

    /**
     * The Winograd tile for a stride-1 3×3 convolution of this shape under this algorithm, or null for direct
     * convolution. Never depends on the thread count (results must not either).
     */
    WinogradConv3x3.Tile choose(int cin, int cout, int oh, int ow) {
        return switch (this) {
            case DIRECT -> null;
            case WINOGRAD -> TILE;
            case AUTO -> {
                if (cin < 16) yield null;
                if (TILE == WinogradConv3x3.Tile.F4 && enoughTiles(oh, ow, WinogradConv3x3.Tile.F4)) yield WinogradConv3x3.Tile.F4;
                yield enoughTiles(oh, ow, WinogradConv3x3.Tile.F2) ? WinogradConv3x3.Tile.F2 : null;
            }
        };
    }

    /**
     * The most off-heap memory the transformed weights of one stride-1 3×3 convolution (cout × cin) can take under the
     * JVM's configured algorithm ({@code -Dsdj.conv}): a layer keeps one Winograd form, made the first time it runs at
     * a size where Winograd is chosen, beside its direct weights, in the element type its tile keeps for weights of
     * {@code dtype} ({@link WinogradConv3x3#transformedType}). 0 when the layer always runs direct.
     */
    public static long transformedWeightBytesAtMost(int cout, int cin, io.sdj.core.DType dtype) {
        return CONFIGURED.transformedWeightBytes(cout, cin, dtype);
    }

    /** {@link #transformedWeightBytesAtMost} under this algorithm: the tile it picks for the largest images. */
    long transformedWeightBytes(int cout, int cin, io.sdj.core.DType dtype) {
        WinogradConv3x3.Tile largest = choose(cin, cout, 1 << 15, 1 << 15);
        return largest == null ? 0 : WinogradConv3x3.transformedWeightBytes(largest, cout, cin, PackedMatrix.packedType(dtype));
    }

    /**
     * Auto's rule, from interleaved direct/Winograd timings on one thread (2026-12-06, AVX-512 host: F(4×4) 2.5× direct
     * at 320 channels 64×64 and 1.8× at 64 channels 256×256; F(2×2) 1.6× at 640 channels 32×32 and 1280 channels
     * 16×16, where F(4×4) has too few tiles): Winograd needs at least 16 input channels (the input transforms cost per
     * channel what the GEMM saves per channel pair; 4 → 64 channels at 64×64 ran 3–8× slower) but not many output
     * channels: a few outputs from many inputs (the decoders' and the UNet's output convs) are where direct convolution
     * is weakest, gathering 9·Cin values per pixel for a GEMM of 3 or 4 rows padded to 6 (2026-12-06, same host, 2
     * threads, interleaved, loaded: 64 → 3 at 512² 1.3–1.9×, 128 → 3 at 512² 2–3×, 320 → 4 at 64² 1.6–2.3×, 64 → 8 at
     * 128² 2.1× faster with F(4×4)); and it needs enough output tiles per weight byte, since the transformed
     * weights (α²/9 times the direct ones) stream from memory once per group of tiles: 8 GEMM panels of tiles for
     * F(4×4), 2 for F(2×2). So F(4×4) at a 64×64 latent and the decoders' large images, F(2×2) at 32×32 and 16×16,
     * direct at 8×8. F(4×4)'s count is {@link #F4_MIN_PANELS}.
     */
    static boolean enoughTiles(int oh, int ow, WinogradConv3x3.Tile tile) {
        long tiles = (long) PackedMatrix.ceilDiv(oh, tile.m) * PackedMatrix.ceilDiv(ow, tile.m);
        return tiles >= (tile == WinogradConv3x3.Tile.F4 ? (long) F4_MIN_PANELS : 2L) * GemmKernel.NR;
    }
}
