package io.sdj.models.verify;

import io.sdj.core.Workspace;
import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.clip.ClipTextOutput;
import io.sdj.weights.Safetensors;

/** Text-encoder cases: {@link ClipTextModel} on the case's {@code input_ids}; all four outputs. */
public final class TextEncoderCaseRunner implements ComponentRunner {

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        CaseOutputs out = new CaseOutputs();
        try (ConvertedModel m = ConvertedModel.of(c.dir());
             Safetensors in = Safetensors.open(c.file("inputs.safetensors"))) {
            String comp = m.onlyComponent();
            ClipTextModel model = ClipTextModel.load(m.model().config(comp), m.model().weights(comp));
            int[] shape = in.entry("input_ids").intShape();
            long[] flat = in.longs("input_ids");
            int[][] ids = new int[shape[0]][shape[1]];
            for (int i = 0; i < shape[0]; i++) for (int j = 0; j < shape[1]; j++) ids[i][j] = Math.toIntExact(flat[i * shape[1] + j]);
            ClipTextOutput o = model.forward(new Workspace(), ids, Recorder.forRun(out, intermediates, Recorder.tracedPrefix(c), ""));
            out.put("last_hidden_state", Produced.of(o.lastHiddenState()));
            out.put("pooler_output", Produced.of(o.pooled()));
            out.put("hidden_states_penultimate", Produced.of(o.penultimate()));
            out.put("clip_skip_1", Produced.of(o.clipSkip1()));
        }
        return out;
    }
}
