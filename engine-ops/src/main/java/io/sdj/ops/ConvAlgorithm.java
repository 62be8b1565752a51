package io.sdj.ops;

/**
 * How {@link Conv2d} computes a stride-1 3×3 convolution, chosen with {@code -Dsdj.conv=direct|winograd|auto}
 * (default {@code auto}); every other convolution is always direct.
 * <ul>
 * <li>{@code direct}: the implicit GEMM over gathered patches ({@link ConvPatches}).</li>
 * <li>{@code winograd}: {@link WinogradConv3x3} for every stride-1 3×3 convolution, with the tile of {@link #tile}.</li>
 * <li>{@code auto}: Winograd where it is faster than direct, which needs enough channels to amortise the transforms
 *     and enough output tiles to fill the GEMM panels (see {@link #winogradPays}); direct elsewhere.</li>
 * </ul>
 * The tile is F(4×4, 3×3) unless {@code -Dsdj.conv.winogradTile=2} asks for F(2×2, 3×3) (more accurate, less gain).
 */
public enum ConvAlgorithm {
    DIRECT, WINOGRAD, AUTO;

    /** The JVM-wide choice from {@code -Dsdj.conv}. */
    static final ConvAlgorithm CONFIGURED = parse(System.getProperty("sdj.conv"));
    private static final WinogradConv3x3.Tile TILE = parseTile(System.getProperty("sdj.conv.winogradTile"));

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

    /** The Winograd tile used for every Winograd convolution. */
    static WinogradConv3x3.Tile tile() { return TILE; }

    /**
     * The Winograd tile for a stride-1 3×3 convolution of this shape under this algorithm, or null for direct
     * convolution.
     */
    WinogradConv3x3.Tile choose(int cin, int cout, int oh, int ow) {
        return switch (this) {
            case DIRECT -> null;
            case WINOGRAD -> TILE;
            case AUTO -> winogradPays(cin, cout, oh, ow, TILE) ? TILE : null;
        };
    }

    /**
     * Whether Winograd beats direct convolution at this shape: at least 16 input and output channels (the transforms
     * cost per channel what the GEMM gains per channel pair) and at least 4 GEMM panels of output tiles per image
     * (fewer tiles leave the transformed weights, α²/9 times the direct ones, streamed for too little work).
     */
    static boolean winogradPays(int cin, int cout, int oh, int ow, WinogradConv3x3.Tile tile) {
        long tiles = (long) PackedMatrix.ceilDiv(oh, tile.m) * PackedMatrix.ceilDiv(ow, tile.m);
        return cin >= 16 && cout >= 16 && tiles >= 4L * GemmKernel.NR;
    }
}
