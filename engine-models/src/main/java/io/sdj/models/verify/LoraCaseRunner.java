package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.clip.ClipTextOutput;
import io.sdj.models.lora.LoraFile;
import io.sdj.models.lora.LoraMerge;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.weights.ModelImporter;
import io.sdj.weights.ModelSource;
import io.sdj.weights.Safetensors;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code lora} cases: the case's LoRA file merged into the UNet and text encoder of the referenced base case at each
 * run's multiplier ({@link LoraMerge}); outputs are the merged UNet's sample and the merged text encoder's last hidden
 * state; intermediates are the merged weights the reference lists ({@code r0/merged/<part>.<module>.weight}).
 */
public final class LoraCaseRunner implements ComponentRunner {

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        CaseOutputs out = new CaseOutputs();
        JsonNode base = c.json().path("base");
        Path baseDir = c.dir().resolve(base.path("path").asText()).normalize();
        String bad = BaseDigests.check(baseDir, base.path("sha256"));
        if (bad != null) throw new IllegalStateException(bad);
        String traced = Recorder.tracedPrefix(c);
        try (ModelSource unetSrc = ModelImporter.importFrom(baseDir.resolve(base.path("components").path("unet").asText("unet/")));
             ModelSource teSrc = ModelImporter.importFrom(baseDir.resolve(base.path("components").path("text_encoder").asText("text_encoder/")));
             Safetensors in = Safetensors.open(c.file("inputs.safetensors"));
             LoraFile lora = LoraFile.open(c.file(c.json().path("file").asText("lora.safetensors")))) {
            Tensor sample = Recorder.tensor(in, "unet/sample");
            float[] t = in.floats("unet/timestep");
            Tensor context = Recorder.tensor(in, "unet/encoder_hidden_states");
            int[] shape = in.entry("text_encoder/input_ids").intShape();
            long[] flat = in.longs("text_encoder/input_ids");
            int[][] ids = new int[shape[0]][shape[1]];
            for (int i = 0; i < shape[0]; i++) for (int j = 0; j < shape[1]; j++) ids[i][j] = Math.toIntExact(flat[i * shape[1] + j]);
            for (String run : c.runNames()) {
                float mult = (float) c.run(run).path("multiplier").asDouble();
                LoraMerge merge = new LoraMerge(List.of(new LoraMerge.Use(lora, mult)));
                WeightSource unetW = merge.apply(LoraFile.Part.UNET, unetSrc.weights("unet"));
                WeightSource teW = merge.apply(LoraFile.Part.TEXT_ENCODER, teSrc.weights("text_encoder"));
                List<String> report = merge.unmatchedReport();
                if (!report.isEmpty()) throw new IllegalStateException(String.join("; ", report));
                Workspace ws = new Workspace();
                Tensor y = UNet2DConditionModel.load(unetSrc.config("unet"), unetW).forward(ws, sample, t, context, null, Trace.NONE);
                out.put(run + "/unet_sample", Produced.of(y));
                ClipTextOutput o = ClipTextModel.load(teSrc.config("text_encoder"), teW).forward(ws, ids, Trace.NONE);
                out.put(run + "/text_last_hidden_state", Produced.of(o.lastHiddenState()));
                if (intermediates && traced != null && traced.equals(run + "/")) {
                    try (Safetensors ref = Safetensors.open(c.file("intermediates.safetensors"))) {
                        for (String name : ref.names()) {
                            String rest = name.substring(traced.length());
                            if (!rest.startsWith("merged/")) continue;
                            rest = rest.substring("merged/".length());
                            WeightSource w = rest.startsWith("unet.") ? unetW : teW;
                            var merged = w.get(rest.substring(rest.indexOf('.') + 1));
                            out.putIntermediate(name, Produced.of(merged.toFloats(), merged.shape()));
                        }
                    }
                }
            }
        }
        return out;
    }
}
