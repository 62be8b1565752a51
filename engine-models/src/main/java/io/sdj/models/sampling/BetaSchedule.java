package io.sdj.models.sampling;

/** The training noise schedule ({@code beta_schedule}). */
public enum BetaSchedule {
    /** Betas evenly spaced from beta_start to beta_end. */
    LINEAR("linear"),
    /** Square roots of the betas evenly spaced, then squared (latent diffusion, Stable Diffusion). */
    SCALED_LINEAR("scaled_linear"),
    /** The cosine ᾱ(t) schedule of improved DDPM, betas capped at 0.999. */
    SQUAREDCOS_CAP_V2("squaredcos_cap_v2");

    private final String key;

    BetaSchedule(String key) { this.key = key; }

    public String key() { return key; }

    public static BetaSchedule parse(String value) {
        for (BetaSchedule s : values()) if (s.key.equals(value)) return s;
        throw new IllegalArgumentException("scheduler config: beta_schedule '" + value
                + "' is not supported (expected linear, scaled_linear or squaredcos_cap_v2)");
    }
}
