package io.sdj.models.verify;

import io.sdj.core.Tensor;
import io.sdj.models.Trace;
import io.sdj.weights.Safetensors;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Records a model's traced activations into {@link CaseOutputs} under the names of the case's
 * {@code intermediates.safetensors} — only for the run the reference recorded (the prefix of its first tensor name,
 * e.g. {@code r0/}), so large runs are not copied for nothing.
 */
final class Recorder {
    private Recorder() { }

    /** The run prefix ("r0/", or "" for cases without runs) of the reference intermediates, or null when there are none. */
    static String tracedPrefix(GoldenCase c) {
        Path f = c.file("intermediates.safetensors");
        if (!Files.isRegularFile(f)) return null;
        try (Safetensors s = Safetensors.open(f)) {
            for (String name : s.entries().keySet()) {
                int slash = name.indexOf('/');
                return slash < 0 ? "" : name.substring(0, slash + 1);
            }
        }
        return null;
    }

    /** A trace for {@code run} ("r0", or "" without runs) when intermediates are wanted for it, else {@link Trace#NONE}. */
    static Trace forRun(CaseOutputs out, boolean intermediates, String tracedPrefix, String run) {
        if (!intermediates || tracedPrefix == null) return Trace.NONE;
        String prefix = run.isEmpty() ? "" : run + "/";
        if (!prefix.equals(tracedPrefix)) return Trace.NONE;
        return (name, t) -> out.putIntermediate(prefix + name, Produced.of(t));
    }

    static Tensor tensor(Safetensors st, String name) {
        return Tensor.of(st.floats(name), st.entry(name).intShape());
    }
}
