package io.sdj.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.models.unet.UNetConfig;
import io.sdj.core.DType;
import io.sdj.weights.ModelSource;
import io.sdj.weights.ModelWriter;
import io.sdj.core.WeightSource;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a full-size pipeline with synthetic weights (a bundled UNet architecture, SD 1.x's ViT-L text encoder, the
 * SD VAE decoder and TAESD) as an sdj file, so that whole-process measurements (the first image of a fresh
 * {@code sdj generate}, its peak RSS, f32 against f16 files) run through exactly the path a user's converted model
 * takes. The images are noise; the shapes, and so the time and memory, are the real model's.
 * <p>{@code java -cp benchmarks.jar io.sdj.bench.SyntheticModelFile <architecture> <f32|f16|bf16> <out.sdj>}
 */
public final class SyntheticModelFile {
    private SyntheticModelFile() { }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: SyntheticModelFile <architecture, e.g. bk-sdm-tiny | sd15> <f32|f16|bf16> <out.sdj>");
            System.exit(2);
        }
        String arch = args[0];
        DType dtype = DType.valueOf(args[1].toUpperCase(Locale.ROOT));
        Path out = Path.of(args[2]);
        JsonNode unetConfig = UNetConfig.bundled(arch);
        SyntheticPipelineModel pipeline = new SyntheticPipelineModel("synthetic-" + arch, 1234,
                SyntheticTextEncoder.vitL14Config(), unetConfig, SyntheticPipelineModel.sdVaeConfig(), true);
        // The UNet's synthetic weights are created on request, so build the model once to learn every name and shape.
        SyntheticWeights unetWeights = new SyntheticWeights(1234);
        UNet2DConditionModel.load(unetConfig, unetWeights);
        ModelSource withUnet = new UNetReplaced(pipeline, unetWeights);
        ObjectNode provenance = new ObjectMapper().createObjectNode().put("source", "synthetic " + arch + " (seed 1234)");
        ModelWriter.Result r = ModelWriter.write(withUnet, out, dtype, false, provenance);
        System.out.printf(Locale.ROOT, "%s: %d tensors, %.2f GiB (%s, synthetic %s)%n", r.path(), r.tensors(),
                r.bytes() / (1024.0 * 1024 * 1024), dtype, arch);
        pipeline.close();
    }

    /** The synthetic pipeline with its UNet weights taken from a source whose names are all known. */
    private record UNetReplaced(SyntheticPipelineModel pipeline, WeightSource unet) implements ModelSource {
        @Override public String kind() { return pipeline.kind(); }
        @Override public List<String> components() { return pipeline.components(); }
        @Override public JsonNode config(String component) { return pipeline.config(component); }
        @Override public WeightSource weights(String component) {
            return component.equals("unet") ? unet : pipeline.weights(component);
        }
        @Override public Map<String, String> tokenizerFiles() { return pipeline.tokenizerFiles(); }
        @Override public JsonNode provenance() { return pipeline.provenance(); }
        @Override public void close() { pipeline.close(); }
    }
}
