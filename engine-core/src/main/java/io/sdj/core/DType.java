package io.sdj.core;

/**
 * Element types of stored weights. Activations are always {@link #F32}.
 * {@link #I8} is symmetric per-output-channel quantisation: value = q × scale[channel], channel = first dimension.
 */
public enum DType {
    F32(4), F16(2), BF16(2), I8(1);

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    /** Bytes per element. */
    public int bytes() { return bytes; }

    /** Parses a dtype name as written in file headers ("F32", "f16", "bf16", "int8" ...). */
    public static DType parse(String name) {
        return switch (name.toUpperCase(java.util.Locale.ROOT)) {
            case "F32", "FLOAT32" -> F32;
            case "F16", "FLOAT16" -> F16;
            case "BF16", "BFLOAT16" -> BF16;
            case "I8", "INT8" -> I8;
            default -> throw new IllegalArgumentException("unknown dtype '" + name + "' (expected F32, F16, BF16 or I8)");
        };
    }

    /** float → bfloat16 bits, rounding to nearest even; NaN stays NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x0040);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** bfloat16 bits → float (exact). */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }
}
