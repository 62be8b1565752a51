package io.sdj.models.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Quote;

/**
 * Reading size-like values of upstream configs with a range check. A config is user data: a value such as
 * {@code num_train_timesteps: 2147483647} or {@code hidden_size: 1e9} must be refused with the key named, before it
 * becomes an allocation that exhausts memory or a shape that overflows. The bounds are far above any real model's
 * values; only nonsense is refused.
 */
public final class ConfigValues {
    private ConfigValues() {}

    /** Upper bound for channel counts and hidden sizes. */
    public static final int MAX_CHANNELS = 1 << 16;
    /** Upper bound for counts of layers, blocks and heads. */
    public static final int MAX_LAYERS = 1024;

    /**
     * The integer at {@code key} (or {@code dflt} when absent or null), which must lie in [{@code min}, {@code max}];
     * otherwise an error "{@code <what> config: <key> = <value> is out of range [min, max]}".
     */
    public static int boundedInt(JsonNode j, String what, String key, int dflt, int min, int max) {
        JsonNode v = j == null ? null : j.get(key);
        if (v == null || v.isNull()) return dflt;
        return checkInt(v, what, key, min, max);
    }

    /** One integer value (e.g. an element of a list) checked the same way; {@code key} names it in the error. */
    public static int checkInt(JsonNode v, String what, String key, int min, int max) {
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
            throw new IllegalArgumentException(what + " config: " + key + " = " + Quote.capped(v) + " is not an integer");
        }
        if (!v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw new IllegalArgumentException(what + " config: " + key + " = " + Quote.capped(v) + " is out of range [" + min + ", " + max + "]");
        }
        return (int) v.asLong();
    }
}
