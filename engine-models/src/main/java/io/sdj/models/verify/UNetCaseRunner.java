package io.sdj.models.verify;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.weights.Safetensors;

/** UNet cases: {@link UNet2DConditionModel} on every run's sample, timesteps, context (and timestep_cond). */
public final class UNetCaseRunner implements ComponentRunner {

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        CaseOutputs out = new CaseOutputs();
        String traced = Recorder.tracedPrefix(c);
        try (ConvertedModel m = ConvertedModel.of(c.dir());
             Safetensors in = Safetensors.open(c.file("inputs.safetensors"))) {
            String comp = m.onlyComponent();
            UNet2DConditionModel unet = UNet2DConditionModel.load(m.model().config(comp), m.model().weights(comp));
            Workspace ws = new Workspace();
            for (String run : c.runNames()) {
                Tensor sample = Recorder.tensor(in, run + "/sample");
                float[] t = in.floats(run + "/timestep");
                Tensor context = Recorder.tensor(in, run + "/encoder_hidden_states");
                Tensor cond = in.contains(run + "/timestep_cond") ? Recorder.tensor(in, run + "/timestep_cond") : null;
                Tensor y = unet.forward(ws, sample, t, context, cond, Recorder.forRun(out, intermediates, traced, run));
                out.put(run + "/sample", Produced.of(y));
                ws.release(y);
            }
        }
        return out;
    }
}
