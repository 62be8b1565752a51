package io.sdj.weights;

import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A {@link WeightSource} over named tensor suppliers: used for renamed or reshaped views (checkpoint key mapping,
 * sharded files). Tensors are produced on demand and carry the name they are looked up by.
 */
public final class WeightMap implements WeightSource {
    public static final WeightMap EMPTY = new WeightMap("empty");

    private final String origin;
    private final Map<String, Supplier<WeightTensor>> tensors = new LinkedHashMap<>();

    public WeightMap(String origin) { this.origin = origin; }

    public WeightMap put(String name, Supplier<WeightTensor> tensor) {
        if (tensors.putIfAbsent(name, tensor) != null) throw new WeightsFormatException(origin + ": tensor '" + name + "' is defined twice");
        return this;
    }

    /** All tensors of {@code src} under their own names. */
    public WeightMap putAll(WeightSource src) {
        for (String n : src.names()) put(n, () -> src.get(n));
        return this;
    }

    @Override
    public WeightTensor get(String name) {
        Supplier<WeightTensor> s = tensors.get(name);
        if (s == null) throw new WeightsFormatException(origin + ": no tensor named '" + name + "'");
        WeightTensor t = s.get();
        return t.name().equals(name) ? t : new WeightTensor(name, t.dtype(), t.shape(), t.data(), t.scales());
    }

    @Override public boolean contains(String name) { return tensors.containsKey(name); }

    @Override public Set<String> names() { return Collections.unmodifiableSet(tensors.keySet()); }

    @Override public String origin() { return origin; }
}
