package io.sdj.models.sampling;

/** How inference timesteps are spread over the training range ({@code timestep_spacing}). */
public enum TimestepSpacing {
    /** Multiples of N/steps from 0, plus {@code steps_offset} (Stable Diffusion 1.x default). */
    LEADING("leading"),
    /** Counting down from N by N/steps, minus one: always starts at the last training timestep. */
    TRAILING("trailing"),
    /** Evenly spaced over [0, N − 1], rounded. */
    LINSPACE("linspace");

    private final String key;

    TimestepSpacing(String key) { this.key = key; }

    public String key() { return key; }

    public static TimestepSpacing parse(String value) {
        for (TimestepSpacing s : values()) if (s.key.equals(value)) return s;
        throw new IllegalArgumentException("scheduler config: timestep_spacing '" + value
                + "' is not supported (expected leading, trailing or linspace)");
    }
}
