package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * The Gaussian stream of torch's CUDA generator, as AUTOMATIC1111's "NV" source (and stable-diffusion.cpp's
 * {@code --rng cuda}) reproduce it on a CPU: Philox 4×32-10 keyed by the seed, one counter per element, Box–Muller in
 * double precision. A seed copied from an image made on an NVIDIA GPU therefore gives the same initial latents here.
 *
 * <p>State: the seed (used as an unsigned 64-bit key: low word k0, high word k1) and the number k of draws made so far.
 * Element i of draw k is the first Box–Muller output of Philox(key, counter = [k, 0, i, 0]); every {@link #randn} call
 * advances k by exactly one, whatever its size, so a draw depends on its shape only through its element count and its
 * first m values equal a draw of m values.
 * <p>Not thread-safe: one generator belongs to one generation.
 */
public final class PhiloxGenerator implements NoiseSource {
    private static final int MUL0 = 0xD2511F53, MUL1 = 0xCD9E8D57;
    private static final int WEYL0 = 0x9E3779B9, WEYL1 = 0xBB67AE85;
    private static final int ROUNDS = 10;
    /** 2^−32 as the float32 constant upstream uses, widened to double. */
    private static final double U_SCALE = (double) 2.3283064e-10f;
    /** 2^−32 · 2π, multiplied in float32 as upstream does, widened to double. */
    private static final double V_SCALE = (double) (2.3283064e-10f * 6.2831855f);

    private final long seed;
    private int draws;

    /** A generator as after {@code torch.manual_seed(seed)} on CUDA; the seed's 64 bits are the key (any value). */
    public PhiloxGenerator(long seed) {
        this.seed = seed;
    }

    /** The seed (its bit pattern; read it with {@link Long#toUnsignedString} for seeds of 2^63 and above). */
    public long seed() { return seed; }

    /** How many draws this generator has made (the counter's first word for the next one). */
    public int drawCount() { return draws; }

    /** The next draw: {@code numel(shape)} standard normals in row-major order. */
    public float[] randn(int... shape) {
        long n = Tensor.numel(shape);
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("randn: shape too large: " + java.util.Arrays.toString(shape));
        float[] out = new float[(int) n];
        int k = draws++;
        for (int i = 0; i < out.length; i++) out[i] = normal(seed, k, i);
        return out;
    }

    @Override
    public float[] next(int... shape) { return randn(shape); }

    /** Element {@code i} of draw {@code k} of a generator seeded with {@code seed}. */
    static float normal(long seed, int k, int i) {
        int[] w = words(seed, k, i);
        double u = (w[0] & 0xFFFFFFFFL) * U_SCALE + U_SCALE / 2;
        double v = (w[1] & 0xFFFFFFFFL) * V_SCALE + V_SCALE / 2;
        return (float) (Math.sqrt(-2.0 * Math.log(u)) * Math.sin(v));
    }

    /**
     * The four output words of Philox4x32-10 with key = seed ([low, high] 32 bits) and counter [k, 0, i, 0]: element
     * {@code i} of draw {@code k} uses the first two (x for the radius, y for the angle).
     */
    public static int[] words(long seed, int k, int i) {
        int c0 = k, c1 = 0, c2 = i, c3 = 0;
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        for (int r = 0; r < ROUNDS; r++) {
            if (r > 0) { k0 += WEYL0; k1 += WEYL1; }
            long p0 = (c0 & 0xFFFFFFFFL) * (MUL0 & 0xFFFFFFFFL);
            long p1 = (c2 & 0xFFFFFFFFL) * (MUL1 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            c1 = (int) p1;
            c3 = (int) p0;
            c0 = n0;
            c2 = n2;
        }
        return new int[]{c0, c1, c2, c3};
    }
}
