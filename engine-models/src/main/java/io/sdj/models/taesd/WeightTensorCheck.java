package io.sdj.models.taesd;

import io.sdj.core.WeightSource;

/** Presence check with a message that says which TAESD file is expected. */
final class WeightTensorCheck {
    private WeightTensorCheck() {}

    static void require(WeightSource w, String name, String what) {
        if (!w.contains(name)) {
            throw new IllegalArgumentException(w.origin() + ": not " + what + " weights (missing '" + name
                    + "'; expected the layer-indexed keys of taesd.py's nn.Sequential, e.g. '1.weight', '3.conv.0.weight')");
        }
    }
}
