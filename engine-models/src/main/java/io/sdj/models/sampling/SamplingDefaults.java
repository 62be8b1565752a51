package io.sdj.models.sampling;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a model prefers when the user does not say (model metadata, e.g. an LCM or Turbo model): sampler, number of
 * steps, guidance scale and what the model predicts. Null fields mean "no preference".
 */
public record SamplingDefaults(SamplerKind sampler, Integer steps, Float guidance, PredictionType predictionType) {

    public static final SamplingDefaults NONE = new SamplingDefaults(null, null, null, null);

    public SamplingDefaults {
        if (steps != null && steps < 1) throw new IllegalArgumentException("sampling defaults: steps must be ≥ 1, got " + steps);
        if (guidance != null && !(guidance >= 0f)) throw new IllegalArgumentException("sampling defaults: guidance must be ≥ 0, got " + guidance);
    }

    /**
     * Reads {@code {"sampler": "lcm", "steps": 4, "guidance": 1.0, "prediction_type": "epsilon"}}; absent keys stay
     * null, unknown keys are ignored, bad values are refused naming the key.
     */
    public static SamplingDefaults fromJson(JsonNode j) {
        if (j == null || j.isNull() || j.isMissingNode()) return NONE;
        if (!j.isObject()) throw new IllegalArgumentException("sampling defaults: expected a JSON object, got " + j);
        SamplerKind s = j.hasNonNull("sampler") ? SamplerKind.parse(text(j, "sampler")) : null;
        Integer steps = null;
        if (j.hasNonNull("steps")) {
            if (!j.get("steps").canConvertToInt() || !j.get("steps").isIntegralNumber()) {
                throw new IllegalArgumentException("sampling defaults: steps = " + j.get("steps") + " is not an integer");
            }
            steps = j.get("steps").asInt();
        }
        Float g = null;
        if (j.hasNonNull("guidance")) {
            if (!j.get("guidance").isNumber()) throw new IllegalArgumentException("sampling defaults: guidance = " + j.get("guidance") + " is not a number");
            g = (float) j.get("guidance").asDouble();
        }
        PredictionType p = j.hasNonNull("prediction_type") ? PredictionType.parse(text(j, "prediction_type")) : null;
        return new SamplingDefaults(s, steps, g, p);
    }

    private static String text(JsonNode j, String key) {
        if (!j.get(key).isTextual()) throw new IllegalArgumentException("sampling defaults: " + key + " = " + j.get(key) + " is not a string");
        return j.get(key).asText();
    }

    /** This record's fields where set, else {@code fallback}'s. */
    public SamplingDefaults orElse(SamplingDefaults fallback) {
        return new SamplingDefaults(sampler != null ? sampler : fallback.sampler, steps != null ? steps : fallback.steps,
                guidance != null ? guidance : fallback.guidance, predictionType != null ? predictionType : fallback.predictionType);
    }
}
