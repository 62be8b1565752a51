package io.sdj.models.verify;

import io.sdj.core.Tensor;
import io.sdj.models.unet.UNet2DConditionModel;

/** UNet cases: {@link UNet2DConditionModel} on every run's sample, timesteps, context (and timestep_cond). */
public final class UNetCaseRunner implements ComponentRunner {

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        return EachRun.of(c, intermediates, UNet2DConditionModel::load, (unet, run, in, ws, trace, out) -> {
            Tensor sample = Recorder.tensor(in, run + "/sample");
            float[] t = in.floats(run + "/timestep");
            Tensor context = Recorder.tensor(in, run + "/encoder_hidden_states");
            Tensor cond = in.contains(run + "/timestep_cond") ? Recorder.tensor(in, run + "/timestep_cond") : null;
            Tensor y = unet.forward(ws, sample, t, context, cond, trace);
            out.put(run + "/sample", Produced.of(y));
            ws.release(y);
        });
    }
}
