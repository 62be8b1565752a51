package io.sdj.core;

import java.util.Set;
import java.util.TreeSet;

/**
 * Weights looked up by their upstream key names ({@code down_blocks.0.resnets.1.conv1.weight}).
 * {@link #at(String)} gives a view under a path prefix, so a block reads its own weights by short names, as upstream
 * modules do.
 */
public interface WeightSource {
    /** The tensor with this full name; throws naming the tensor when it is missing. */
    WeightTensor get(String name);

    boolean contains(String name);

    /** All full names. */
    Set<String> names();

    /** A human-readable origin for error messages (a file path). */
    default String origin() { return "weights"; }

    /** A view whose names are relative to {@code prefix} (joined with '.'). */
    default WeightSource at(String prefix) {
        WeightSource parent = this;
        String p = prefix.isEmpty() || prefix.endsWith(".") ? prefix : prefix + ".";
        return new WeightSource() {
            @Override public WeightTensor get(String name) { return parent.get(p + name); }
            @Override public boolean contains(String name) { return parent.contains(p + name); }
            @Override public Set<String> names() {
                Set<String> out = new TreeSet<>();
                for (String n : parent.names()) if (n.startsWith(p)) out.add(n.substring(p.length()));
                return out;
            }
            @Override public String origin() { return parent.origin() + " [" + p + "]"; }
            @Override public WeightSource at(String more) { return parent.at(p + more); }
        };
    }

    /** The tensor if present, else null (for optional biases). */
    default WeightTensor optional(String name) { return contains(name) ? get(name) : null; }
}
