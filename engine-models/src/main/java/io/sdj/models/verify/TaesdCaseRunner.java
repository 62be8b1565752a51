package io.sdj.models.verify;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.taesd.TaesdEncoder;
import io.sdj.weights.Safetensors;

/** TAESD cases: {@link TaesdDecoder} (latents → image) or {@link TaesdEncoder} (image → latents) on every run. */
public final class TaesdCaseRunner implements ComponentRunner {
    private final boolean decoder;

    public TaesdCaseRunner(boolean decoder) { this.decoder = decoder; }

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        CaseOutputs out = new CaseOutputs();
        String traced = Recorder.tracedPrefix(c);
        try (ConvertedModel m = ConvertedModel.of(c.dir());
             Safetensors in = Safetensors.open(c.file("inputs.safetensors"))) {
            var weights = m.model().weights(m.onlyComponent());
            TaesdDecoder dec = decoder ? TaesdDecoder.load(weights) : null;
            TaesdEncoder enc = decoder ? null : TaesdEncoder.load(weights);
            Workspace ws = new Workspace();
            for (String run : c.runNames()) {
                var trace = Recorder.forRun(out, intermediates, traced, run);
                Tensor y = decoder ? dec.forward(ws, Recorder.tensor(in, run + "/latents"), trace)
                        : enc.forward(ws, Recorder.tensor(in, run + "/image"), trace);
                out.put(run + (decoder ? "/image" : "/latents"), Produced.of(y));
                ws.release(y);
            }
        }
        return out;
    }
}
