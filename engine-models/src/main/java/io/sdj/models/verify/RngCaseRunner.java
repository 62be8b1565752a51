package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.models.sampling.TorchGenerator;

/** The rng case: every {@code calls[]} entry replayed on a fresh {@link TorchGenerator}; sequences share one generator. */
public final class RngCaseRunner implements ComponentRunner {

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        CaseOutputs out = new CaseOutputs();
        for (JsonNode call : c.json().path("calls")) {
            TorchGenerator g = new TorchGenerator(call.path("seed").asLong());
            JsonNode names = call.path("output");
            if (names.isArray()) {
                for (int k = 0; k < names.size(); k++) {
                    int[] shape = shape(call.path("shape").get(k));
                    out.put(names.get(k).asText(), Produced.of(g.randn(shape), shape));
                }
            } else {
                int[] shape = shape(call.path("shape"));
                out.put(names.asText(), Produced.of(g.randn(shape), shape));
            }
        }
        return out;
    }

    private static int[] shape(JsonNode s) {
        int[] r = new int[s.size()];
        for (int i = 0; i < r.length; i++) r[i] = s.get(i).asInt();
        return r;
    }
}
