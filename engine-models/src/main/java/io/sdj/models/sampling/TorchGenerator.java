package io.sdj.models.sampling;

import io.sdj.core.Tensor;

/**
 * PyTorch's CPU random generator ({@code torch.Generator("cpu").manual_seed(seed)}) and its {@code torch.randn}
 * for float32, reproduced bit for bit, so a seed gives the same initial latents (and ancestral noise) as diffusers
 * with a CPU generator.
 *
 * <p>Engine: 32-bit Mersenne Twister (mt19937) initialised from the low 32 bits of the seed, as PyTorch's
 * {@code CPUGeneratorImpl} does. Normal variates follow PyTorch 1.13's CPU kernel, which has two paths:
 * <ul>
 *   <li>tensors of at least 16 elements: every element first receives a float uniform {@code (r & 0xFFFFFF) / 2^24}
 *   from one 32-bit draw; then each block of 16 is turned into normals by Box–Muller in float32, pairing element
 *   {@code j} (radius from {@code 1 - u}) with element {@code j + 8} (angle); when the size is not a multiple of 16,
 *   the last 16 elements are drawn again and transformed once more (overlapping the previous block);</li>
 *   <li>smaller tensors: one double-precision Box–Muller draw per element (uniforms of 53 bits from two 32-bit draws),
 *   the second value of each pair is cached in the generator and used by the next scalar draw.</li>
 * </ul>
 * Not thread-safe: one generator belongs to one generation.
 */
public final class TorchGenerator implements NoiseSource {
    private static final int N = 624;
    private static final int M = 397;
    private static final int MATRIX_A = 0x9908b0df;
    private static final int UPPER_MASK = 0x80000000;
    private static final int LOWER_MASK = 0x7fffffff;

    private final long seed;
    private final int[] state = new int[N];
    private int next;
    /** The cached second value of the scalar (double) Box–Muller path, valid when {@link #hasCachedNormal}. */
    private double cachedNormal;
    private boolean hasCachedNormal;

    /** A generator as after {@code torch.Generator("cpu").manual_seed(seed)}; any 64-bit seed is accepted. */
    public TorchGenerator(long seed) {
        this.seed = seed;
        state[0] = (int) seed; // low 32 bits, as PyTorch's engine keeps them
        for (int j = 1; j < N; j++) {
            int prev = state[j - 1];
            state[j] = 1812433253 * (prev ^ (prev >>> 30)) + j;
        }
        next = N; // the first draw regenerates the state block
    }

    /** The seed this generator was created with. */
    public long seed() { return seed; }

    /** The next raw 32-bit output of mt19937 (as an unsigned value in the low 32 bits of the int). */
    public int nextInt32() {
        if (next >= N) twist();
        int y = state[next++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    /** Two 32-bit draws combined as PyTorch's {@code random64()}: the first is the high half. */
    public long nextInt64() {
        long hi = nextInt32() & 0xFFFFFFFFL;
        long lo = nextInt32() & 0xFFFFFFFFL;
        return (hi << 32) | lo;
    }

    private void twist() {
        for (int k = 0; k < N; k++) {
            int y = (state[k] & UPPER_MASK) | (state[(k + 1) % N] & LOWER_MASK);
            state[k] = state[(k + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
        }
        next = 0;
    }

    /** A float uniform in [0, 1) from one 32-bit draw (24 bits kept). */
    private float uniformFloat() {
        return (nextInt32() & 0xFFFFFF) * 0x1.0p-24f;
    }

    /** A double uniform in [0, 1) from two 32-bit draws (53 bits kept). */
    private double uniformDouble() {
        return (nextInt64() & ((1L << 53) - 1)) * 0x1.0p-53;
    }

    /** {@code torch.randn(shape, generator=this, dtype=torch.float32)}. */
    public float[] randn(int... shape) {
        long n = Tensor.numel(shape);
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("randn: shape too large: " + java.util.Arrays.toString(shape));
        float[] out = new float[(int) n];
        fillNormal(out, (int) n);
        return out;
    }

    /** {@link #randn} as a {@link Tensor}. */
    public Tensor randnTensor(int... shape) {
        return new Tensor(randn(shape), shape);
    }

    @Override
    public float[] next(int... shape) { return randn(shape); }

    /** Fills {@code out[0, n)} with standard normals exactly as {@code torch.randn} would for a tensor of n elements. */
    public void fillNormal(float[] out, int n) {
        if (n >= 16) {
            for (int i = 0; i < n; i++) out[i] = uniformFloat();
            for (int i = 0; i + 16 <= n; i += 16) boxMuller16(out, i);
            if (n % 16 != 0) {
                int base = n - 16;
                for (int i = 0; i < 16; i++) out[base + i] = uniformFloat();
                boxMuller16(out, base);
            }
        } else {
            for (int i = 0; i < n; i++) out[i] = (float) scalarNormal();
        }
    }

    /** 2π rounded to float, as the vectorised kernel broadcasts it. */
    private static final float TWO_PI_F = (float) (2.0 * Math.PI);

    /**
     * Float32 Box–Muller over one block of 16 uniforms, pairing element j (radius from 1 − u) with j + 8 (angle), as
     * PyTorch's AVX2 kernel does it: float angle 2π·u, {@link CephesFloat} logarithm and sine/cosine.
     */
    private static void boxMuller16(float[] d, int off) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[off + j];
            float u2 = d[off + j + 8];
            float radius = (float) Math.sqrt(-2f * CephesFloat.log(u1));
            float theta = TWO_PI_F * u2;
            float sin = CephesFloat.sin(theta);
            float cos = CephesFloat.cos(theta);
            // the kernel finishes with fma(n, std = 1, mean = 0), which turns -0 into +0
            d[off + j] = Math.fma(radius * cos, 1f, 0f);
            d[off + j + 8] = Math.fma(radius * sin, 1f, 0f);
        }
    }

    /** One double Box–Muller normal with the second value of the pair cached, as PyTorch's scalar path. */
    private double scalarNormal() {
        if (hasCachedNormal) {
            hasCachedNormal = false;
            return cachedNormal;
        }
        double u1 = uniformDouble();
        double u2 = uniformDouble();
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        cachedNormal = r * Math.sin(theta);
        hasCachedNormal = true;
        return r * Math.cos(theta);
    }

}
