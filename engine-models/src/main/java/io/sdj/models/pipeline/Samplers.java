package io.sdj.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;

/** TEMPORARY until the samplers land on main. */
final class Samplers {
    private Samplers() {}

    static SamplerFactory factory(JsonNode schedulerConfig) {
        return (kind, steps, noise) -> { throw new UnsupportedOperationException("samplers not in this build yet"); };
    }

    static SeededNoise noise(long seed) {
        throw new UnsupportedOperationException("seeded noise not in this build yet");
    }
}
