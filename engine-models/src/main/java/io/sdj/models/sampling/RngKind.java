package io.sdj.models.sampling;

import java.util.Locale;

/**
 * Where seeded noise (initial latents, ancestral and LCM noise) comes from:
 * <ul>
 *   <li>{@link #CPU}: torch's CPU generator ({@link TorchGenerator}), what diffusers draws with
 *   {@code torch.Generator("cpu").manual_seed(seed)}; A1111 calls it the "CPU" source;</li>
 *   <li>{@link #CUDA}: torch's CUDA generator (Philox, {@link PhiloxGenerator}), what A1111's default "GPU" source and
 *   diffusers with a CUDA generator produce on an NVIDIA GPU; A1111's "NV" source computes it on any device.</li>
 * </ul>
 */
public enum RngKind {
    CPU("cpu", "CPU"),
    CUDA("cuda", "NV");

    private final String cliName, a1111Name;

    RngKind(String cliName, String a1111Name) {
        this.cliName = cliName;
        this.a1111Name = a1111Name;
    }

    /** The name on the command line ({@code --rng cpu|cuda}). */
    public String cliName() { return cliName; }

    /** The value A1111 writes as {@code RNG: ...} in the image parameters for this source. */
    public String a1111Name() { return a1111Name; }

    /** A fresh generator for {@code seed}. */
    public NoiseSource create(long seed) {
        return this == CPU ? new TorchGenerator(seed) : new PhiloxGenerator(seed);
    }

    /** {@code cpu} or {@code cuda} (A1111's {@code NV} is accepted for the latter); anything else is a one-line error. */
    public static RngKind parse(String s) {
        String k = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        return switch (k) {
            case "cpu" -> CPU;
            case "cuda", "nv", "gpu" -> CUDA;
            default -> throw new IllegalArgumentException("unknown rng '" + s + "' (use cpu or cuda)");
        };
    }
}
