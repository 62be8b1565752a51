package io.sdj.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.WeightSource;

/** TEMPORARY until the VAE/TAESD land on main. */
final class Decoders {
    private Decoders() {}

    static LatentDecoder vae(JsonNode config, WeightSource w) {
        return (ws, z, t) -> { throw new UnsupportedOperationException("VAE decoder not in this build yet"); };
    }

    static LatentDecoder taesd(WeightSource w) {
        throw new UnsupportedOperationException("TAESD decoder not in this build yet");
    }

    static int vaeScaleFactor(JsonNode config) {
        JsonNode b = config.path("block_out_channels");
        return b.isArray() && b.size() > 0 ? 1 << (b.size() - 1) : 8;
    }
}
