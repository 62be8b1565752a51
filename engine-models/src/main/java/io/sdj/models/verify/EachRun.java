package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.weights.Safetensors;

/**
 * What most component cases share: the case's converted model and its {@code inputs.safetensors} opened, the model's
 * only component loaded once, then every run in order with one workspace and the run's trace (the traced run's records
 * the intermediates).
 */
final class EachRun {
    private EachRun() {}

    /** Loads the component from its upstream config and weights. */
    interface Loader<M> {
        M load(JsonNode config, WeightSource weights);
    }

    /** Runs one run of the case on the loaded component and puts its outputs into {@code out}. */
    interface Body<M> {
        void run(M component, String run, Safetensors inputs, Workspace ws, Trace trace, CaseOutputs out);
    }

    static <M> CaseOutputs of(GoldenCase c, boolean intermediates, Loader<M> loader, Body<M> body) {
        CaseOutputs out = new CaseOutputs();
        String traced = Recorder.tracedPrefix(c);
        try (ConvertedModel m = ConvertedModel.of(c.dir());
             Safetensors in = Safetensors.open(c.file("inputs.safetensors"))) {
            String comp = m.onlyComponent();
            M component = loader.load(m.model().config(comp), m.model().weights(comp));
            Workspace ws = new Workspace();
            for (String run : c.runNames()) body.run(component, run, in, ws, Recorder.forRun(out, intermediates, traced, run), out);
        }
        return out;
    }
}
