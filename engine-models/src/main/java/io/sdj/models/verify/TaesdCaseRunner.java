package io.sdj.models.verify;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.taesd.TaesdEncoder;

/** TAESD cases: {@link TaesdDecoder} (latents → image) or {@link TaesdEncoder} (image → latents) on every run. */
public final class TaesdCaseRunner implements ComponentRunner {
    private final boolean decoder;

    public TaesdCaseRunner(boolean decoder) { this.decoder = decoder; }

    /** The loaded decoder's or encoder's forward pass. */
    private interface Forward {
        Tensor apply(Workspace ws, Tensor x, Trace trace);
    }

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        EachRun.Loader<Forward> load = (config, weights) -> decoder ? TaesdDecoder.load(weights)::forward : TaesdEncoder.load(weights)::forward;
        return EachRun.of(c, intermediates, load, (forward, run, in, ws, trace, out) -> {
            Tensor y = forward.apply(ws, Recorder.tensor(in, run + (decoder ? "/latents" : "/image")), trace);
            out.put(run + (decoder ? "/image" : "/latents"), Produced.of(y));
            ws.release(y);
        });
    }
}
