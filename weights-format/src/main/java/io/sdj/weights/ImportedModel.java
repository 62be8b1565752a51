package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link ModelSource} assembled in memory (by {@link ModelImporter}): components with their configs and weight
 * views over memory-mapped source files, which {@link #close()} unmaps.
 */
public final class ImportedModel implements ModelSource {
    private final String kind;
    private final Map<String, JsonNode> configs = new LinkedHashMap<>();
    private final Map<String, WeightSource> weights = new LinkedHashMap<>();
    private final Map<String, String> tokenizerFiles = new LinkedHashMap<>();
    private final ObjectNode provenance;
    private final List<AutoCloseable> resources = new ArrayList<>();

    public ImportedModel(String kind, ObjectNode provenance) {
        this.kind = kind;
        this.provenance = provenance;
    }

    /** Adds a component; {@code weights} may be {@link WeightMap#EMPTY} for config-only components. */
    public ImportedModel add(String component, JsonNode config, WeightSource w) {
        if (configs.containsKey(component)) throw new IllegalArgumentException("component '" + component + "' added twice");
        configs.put(component, config);
        weights.put(component, w);
        return this;
    }

    public ImportedModel tokenizerFile(String name, String content) {
        tokenizerFiles.put(name, content);
        return this;
    }

    /** Registers something to close with the model (a mapped safetensors file). */
    public <T extends AutoCloseable> T own(T resource) {
        resources.add(resource);
        return resource;
    }

    @Override public String kind() { return kind; }

    @Override public List<String> components() { return List.copyOf(configs.keySet()); }

    @Override
    public JsonNode config(String component) {
        JsonNode c = configs.get(component);
        if (c == null) throw new WeightsFormatException("no component '" + component + "' (the model has " + configs.keySet() + ")");
        return c;
    }

    @Override
    public WeightSource weights(String component) {
        config(component);
        return weights.get(component);
    }

    @Override public Map<String, String> tokenizerFiles() { return Collections.unmodifiableMap(tokenizerFiles); }

    @Override public JsonNode provenance() { return provenance; }

    @Override
    public void close() {
        RuntimeException first = null;
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (first == null) first = new WeightsFormatException("closing " + resources.get(i) + ": " + e, e);
            }
        }
        resources.clear();
        if (first != null) throw first;
    }
}
