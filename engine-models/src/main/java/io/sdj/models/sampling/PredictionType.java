package io.sdj.models.sampling;

/** What the denoising model predicts ({@code prediction_type} in diffusers scheduler configs). */
public enum PredictionType {
    /** The added noise ε. */
    EPSILON("epsilon"),
    /** The velocity v = √ᾱ·ε − √(1−ᾱ)·x₀. */
    V_PREDICTION("v_prediction"),
    /** The clean sample x₀ directly. */
    SAMPLE("sample");

    private final String key;

    PredictionType(String key) { this.key = key; }

    /** The config value ("epsilon", "v_prediction", "sample"). */
    public String key() { return key; }

    public static PredictionType parse(String value) {
        for (PredictionType p : values()) if (p.key.equals(value)) return p;
        throw new IllegalArgumentException("scheduler config: prediction_type '" + value
                + "' is not supported (expected epsilon, v_prediction or sample)");
    }
}
