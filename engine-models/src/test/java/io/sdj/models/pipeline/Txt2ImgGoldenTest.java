package io.sdj.models.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.verify.Comparison;
import io.sdj.models.verify.GoldenCase;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The whole text-to-image pipeline against {@code pipeline-sd1-tiny} (diffusers StableDiffusionPipeline with DDIM):
 * token ids, prompt embeddings, timesteps, latents after every step and the final image, once with the fixture's
 * latents and once with latents drawn from the seed it records.
 */
class Txt2ImgGoldenTest {
    private static GoldenCase g;
    private static Txt2Img pipeline;
    private static Safetensors inputs, outputs, intermediates;

    @BeforeAll
    static void load() {
        Path dir = GoldenCase.goldenDir().resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(dir), "golden case pipeline-sd1-tiny not found at " + dir + " (set -Dgolden.dir)");
        g = GoldenCase.load(dir);
        pipeline = Txt2Img.load(dir);
        inputs = Safetensors.open(g.file("inputs.safetensors"));
        outputs = Safetensors.open(g.file("outputs.safetensors"));
        intermediates = Safetensors.open(g.file("intermediates.safetensors"));
    }

    @AfterAll
    static void close() throws Exception {
        if (pipeline != null) pipeline.close();
        for (Safetensors s : new Safetensors[]{inputs, outputs, intermediates}) if (s != null) s.close();
    }

    @ParameterizedTest(name = "{0} with {1} latents")
    @CsvSource({"r0, fixture", "r0, seeded", "r1, fixture", "r1, seeded"})
    void matchesDiffusers(String run, String latents) {
        JsonNode r = g.run(run);
        int steps = r.path("num_inference_steps").asInt();
        Map<String, float[]> seen = new HashMap<>();
        var req = pipeline.request()
                .prompt(r.path("prompt").asText())
                .negativePrompt(r.path("negative_prompt").isNull() ? "" : r.path("negative_prompt").asText())
                .steps(steps).sampler(SamplerKind.DDIM).guidance((float) r.path("guidance_scale").asDouble())
                .size(r.path("width").asInt(), r.path("height").asInt())
                .seed(r.path("seed").asLong())
                .trace((n, t) -> seen.put(n, t.toArray()));
        if (latents.equals("fixture")) req.initialLatents(inputs.floats(run + "/latents"));
        GenerationResult res = req.generate();

        // timesteps are integers and must match exactly
        long[] ts = outputs.longs(run + "/timesteps");
        float[] got = res.timesteps();
        assertThat(got).hasSize(ts.length);
        for (int i = 0; i < ts.length; i++) assertThat((long) got[i]).as("timestep %d", i).isEqualTo(ts[i]);

        List<Comparison> results = new ArrayList<>();
        int perStep = outputs.weight(run + "/step_latents").dim(1) * 4 * 16 * 16;
        boolean cfg = r.path("do_classifier_free_guidance").asBoolean();
        float[] unetIn = intermediates.floats(run + "/unet_input"), unetOut = intermediates.floats(run + "/unet_output");
        int unetPer = unetIn.length / steps;
        for (int i = 0; i < steps; i++) {
            System.out.println(run + "/" + latents + " " + Comparison.of("unet_input." + i, seen.get("unet_input." + i),
                    slice(unetIn, i * unetPer, unetPer), g.tolerance("r0/step_latents")));
            System.out.println(run + "/" + latents + " " + Comparison.of("unet_output." + i, seen.get("unet_output." + i),
                    slice(unetOut, i * unetPer, unetPer), g.tolerance("r0/step_latents")));
        }
        float[] stepLatents = new float[steps * perStep];
        for (int i = 0; i < steps; i++) System.arraycopy(seen.get("step_latents." + i), 0, stepLatents, i * perStep, perStep);
        results.add(Comparison.of(run + "/step_latents", stepLatents, outputs.floats(run + "/step_latents"), g.tolerance(run + "/step_latents")));
        results.add(Comparison.of(run + "/prompt_embeds", seen.get("prompt_embeds"), outputs.floats(run + "/prompt_embeds"), g.tolerance(run + "/prompt_embeds")));
        if (cfg) {
            results.add(Comparison.of(run + "/negative_prompt_embeds", seen.get("negative_prompt_embeds"),
                    outputs.floats(run + "/negative_prompt_embeds"), g.tolerance(run + "/negative_prompt_embeds")));
        }
        results.add(Comparison.of(run + "/image", res.pixels(), outputs.floats(run + "/image"), g.tolerance(run + "/image")));
        results.forEach(c -> System.out.println(run + "/" + latents + " " + c));
        assertThat(results).allMatch(Comparison::passed, "all outputs within tolerance");
        assertThat(res.images()).hasSize(1);
        assertThat(res.timings().stepNanos()).hasSize(steps);
    }

    private static float[] slice(float[] a, int from, int n) {
        float[] o = new float[n];
        System.arraycopy(a, from, o, 0, n);
        return o;
    }

}
