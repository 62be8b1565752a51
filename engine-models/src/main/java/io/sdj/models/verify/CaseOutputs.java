package io.sdj.models.verify;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What running a reference case produced: outputs named as in {@code outputs.safetensors}, and (when asked for)
 * intermediate activations named as in {@code intermediates.safetensors}, in the order they were recorded.
 */
public final class CaseOutputs {
    private final Map<String, Produced> outputs = new LinkedHashMap<>();
    private final Map<String, Produced> intermediates = new LinkedHashMap<>();
    private final Map<String, String> unsupported = new LinkedHashMap<>();

    public CaseOutputs put(String name, Produced p) {
        outputs.put(name, p);
        return this;
    }

    public CaseOutputs putIntermediate(String name, Produced p) {
        intermediates.putIfAbsent(name, p);
        return this;
    }

    /** Declares a reference output this implementation deliberately does not produce, and why. */
    public CaseOutputs unsupported(String name, String why) {
        unsupported.put(name, why);
        return this;
    }

    public Map<String, Produced> outputs() { return outputs; }

    public Map<String, String> unsupported() { return unsupported; }

    public Map<String, Produced> intermediates() { return intermediates; }
}
