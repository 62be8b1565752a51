package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.sampling.SamplerKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pipeline's control flow on stand-in components ({@link FakeParts}); numerics are covered by the golden test. */
class Txt2ImgFlowTest {

    @Test
    void guidanceAboveOneRunsTheDenoiserOnNegativeAndPositive() {
        FakeParts f = new FakeParts();
        Txt2Img p = new Txt2Img(f.parts(0, false));
        Map<String, Tensor> seen = new HashMap<>();
        GenerationResult r = p.request().prompt("a b").negativePrompt("c").steps(3).guidance(7.5f).size(16, 24).batch(2)
                .trace((n, t) -> seen.put(n, t.copy())).generate();
        assertThat(f.denoiserBatches).containsExactly(4, 4, 4);
        assertThat(r.images()).hasSize(2);
        assertThat(r.images().get(0).width()).isEqualTo(16);
        assertThat(r.images().get(0).height()).isEqualTo(24);
        assertThat(r.timings().stepNanos()).hasSize(3);
        // CFG combine: out = u + g (c − u) where rows 0..1 are uncond, rows 2..3 cond
        float[] out = seen.get("unet_output.0").data();
        float[] in = seen.get("unet_input.0").data();
        int per = 4 * 3 * 2;
        assertThat(in).hasSize(4 * per);
        for (int k = 0; k < per; k++) assertThat(in[k]).isEqualTo(in[2 * per + k]);   // same latents in both halves
        float[] prev = seen.get("unet_input.0").data();
        float[] next = seen.get("step_latents.0").data();
        for (int k = 0; k < 2 * per; k++) {
            float u = out[k], c = out[2 * per + k];
            float eps = u + 7.5f * (c - u);
            assertThat(next[k]).isEqualTo(prev[k] - 0.1f * eps);
        }
    }

    @Test
    void guidanceOneRunsBatchOneAndIgnoresTheNegativePrompt() {
        FakeParts f = new FakeParts();
        Txt2Img p = new Txt2Img(f.parts(0, false));
        Map<String, Tensor> seen = new HashMap<>();
        p.request().prompt("a").negativePrompt("c").steps(2).guidance(1f).size(8, 8).trace((n, t) -> seen.put(n, t.copy())).generate();
        assertThat(f.denoiserBatches).containsExactly(1, 1);
        assertThat(seen).containsKey("prompt_embeds").doesNotContainKey("negative_prompt_embeds");
    }

    @Test
    void guidanceEmbeddingModelsGetTimestepCondAndNoCfgBatch() {
        FakeParts f = new FakeParts();
        Txt2Img p = new Txt2Img(f.parts(16, false));
        p.request().prompt("a").steps(2).guidance(8f).size(8, 8).generate();
        assertThat(f.denoiserBatches).containsExactly(1, 1);
        assertThat(f.timestepConds).hasSize(2);
        assertThat(f.timestepConds.get(0).shape()).containsExactly(1, 16);
        assertThat(f.timestepConds.get(0).data()).containsExactly(GuidanceEmbedding.of(8f, 16, 1));
    }

    @Test
    void sameSeedSameImageAndGivenLatentsOverrideTheSeed() {
        FakeParts f = new FakeParts();
        Txt2Img p = new Txt2Img(f.parts(0, false));
        GenerationResult a = p.request().prompt("a").steps(2).seed(42).size(8, 8).generate();
        GenerationResult b = p.request().prompt("a").steps(2).seed(42).size(8, 8).generate();
        GenerationResult c = p.request().prompt("a").steps(2).seed(43).size(8, 8).generate();
        assertThat(a.pixels()).containsExactly(b.pixels());
        assertThat(a.pixels()).isNotEqualTo(c.pixels());
        float[] latents = new float[4];
        GenerationResult d = p.request().prompt("a").steps(2).seed(43).size(8, 8).initialLatents(latents).generate();
        GenerationResult e = p.request().prompt("a").steps(2).seed(44).size(8, 8).initialLatents(latents).generate();
        assertThat(d.pixels()).containsExactly(e.pixels());
        assertThatThrownBy(() -> p.request().prompt("a").size(8, 8).initialLatents(new float[5]).generate())
                .hasMessageContaining("initial latents hold 5 values, expected 4");
    }

    @Test
    void progressIsReportedAfterEveryStep() {
        FakeParts f = new FakeParts();
        Txt2Img p = new Txt2Img(f.parts(0, false));
        List<String> events = new ArrayList<>();
        p.request().prompt("a").steps(4).size(8, 8).listener((i, n, elapsed, sps) -> {
            assertThat(elapsed.isNegative()).isFalse();
            assertThat(sps).isGreaterThanOrEqualTo(0);
            events.add(i + "/" + n);
        }).generate();
        assertThat(events).containsExactly("1/4", "2/4", "3/4", "4/4");
    }

    @Test
    void cancellationStopsBeforeTheNextStep() {
        FakeParts f = new FakeParts();
        Txt2Img p = new Txt2Img(f.parts(0, false));
        Cancellation cancel = new Cancellation();
        f.onDenoise = () -> { if (f.denoiserBatches.size() == 1) cancel.cancel(); };   // cancelled during step 2
        assertThatThrownBy(() -> p.request().prompt("a").steps(10).size(8, 8).cancellation(cancel).generate())
                .isInstanceOf(CancellationException.class).hasMessageContaining("step 3 of 10");
        assertThat(f.denoiserBatches).hasSize(2);
    }

    /**
     * Prompts longer than the encoder's window are encoded in chunks (here 4 tokens each), never truncated; with CFG the
     * shorter of prompt and negative prompt is padded to the same number of chunks, so the UNet gets one batch.
     */
    @Test
    void longPromptsAreChunkedNotTruncatedAndTheNegativeIsPaddedToTheirLength() {
        FakeParts f = new FakeParts();
        Txt2Img p = new Txt2Img(f.parts(0, false));
        List<String> warnings = new ArrayList<>();
        p.request().prompt("a b c a b c a b c").negativePrompt("a").steps(1).guidance(2f).size(8, 8).warnings(warnings::add).generate();
        assertThat(warnings).isEmpty();
        assertThat(f.contextShapes.get(0)).containsExactly(2, 3 * FakeParts.TOKENS, FakeParts.DIM);   // 9 tokens → 3 chunks
        p.request().prompt("a b").steps(1).guidance(1f).size(8, 8).warnings(warnings::add).generate();
        assertThat(f.contextShapes.get(1)).containsExactly(1, FakeParts.TOKENS, FakeParts.DIM);
        assertThat(warnings).isEmpty();
    }

    @Test
    void missingDecoderIsAClearError() {
        Txt2Img p = new Txt2Img(new FakeParts().parts(0, false));
        assertThat(p.hasDecoder(DecoderKind.TAESD)).isFalse();
        assertThatThrownBy(() -> p.request().prompt("a").size(8, 8).decoder(DecoderKind.TAESD).generate())
                .hasMessageContaining("has no taesd decoder");
    }

    @Test
    void resultIsImmutable() {
        Txt2Img p = new Txt2Img(new FakeParts().parts(0, true));
        GenerationResult r = p.request().prompt("a").steps(1).size(8, 8).decoder(DecoderKind.TAESD).generate();
        byte[] rgb = r.images().get(0).rgb();
        rgb[0] = (byte) (rgb[0] + 1);
        assertThat(r.images().get(0).rgb()[0]).isNotEqualTo(rgb[0]);
        float[] px = r.pixels();
        px[0] += 1;
        assertThat(r.pixels()[0]).isNotEqualTo(px[0]);
        assertThatThrownBy(() -> r.images().add(r.images().get(0))).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void requestValidation() {
        assertThatThrownBy(() -> GenerationRequest.builder().size(100, 64).build()).hasMessageContaining("width must be a positive multiple of 8, got 100");
        assertThatThrownBy(() -> GenerationRequest.builder().size(64, 0).build()).hasMessageContaining("height");
        assertThatThrownBy(() -> GenerationRequest.builder().steps(0).build()).hasMessageContaining("steps must be at least 1");
        assertThatThrownBy(() -> GenerationRequest.builder().guidance(Float.NaN).build()).hasMessageContaining("guidance");
        assertThatThrownBy(() -> GenerationRequest.builder().guidance(-1f).build()).hasMessageContaining("guidance");
        assertThatThrownBy(() -> GenerationRequest.builder().batch(0).build()).hasMessageContaining("batch");
        assertThatThrownBy(() -> GenerationRequest.builder().steps(4).schedule(NamedSchedule.EIGHT_STEP).build()).hasMessageContaining("either steps or a named schedule");
    }

    @Test
    void samplingPlanFollowsScheduleThenRequestThenModelDefault() {
        Txt2Img p = new Txt2Img(new FakeParts().parts(0, false));
        var d = p.plan(GenerationRequest.builder().build());
        assertThat(d.kind()).isEqualTo(SamplerKind.PNDM);   // default scheduler config → SD default recipe
        assertThat(d.steps()).isEqualTo(50);
        var e = p.plan(GenerationRequest.builder().sampler(SamplerKind.EULER).steps(7).build());
        assertThat(e.kind()).isEqualTo(SamplerKind.EULER);
        assertThat(e.steps()).isEqualTo(7);
        var eight = p.plan(GenerationRequest.builder().schedule(NamedSchedule.EIGHT_STEP).build());
        assertThat(eight.kind()).isEqualTo(SamplerKind.DDIM);
        assertThat(eight.steps()).isEqualTo(8);
        var one = p.plan(GenerationRequest.builder().schedule(NamedSchedule.ONE_STEP).build());
        assertThat(one.kind()).isEqualTo(SamplerKind.ONE_STEP);
        assertThat(one.steps()).isEqualTo(1);
        Txt2Img lcm = new Txt2Img(new FakeParts().parts(16, false));
        assertThat(lcm.plan(GenerationRequest.builder().schedule(NamedSchedule.EIGHT_STEP).build()).kind()).isEqualTo(SamplerKind.LCM);
    }

    @Test
    void previewsUseTaesdWhenTheModelHasOneAndTheFirstBatchRow() {
        Txt2Img p = new Txt2Img(new FakeParts().parts(0, true));
        java.util.List<RgbImage> previews = new java.util.ArrayList<>();
        ProgressListener l = new ProgressListener() {
            @Override public void onStep(int step, int total, java.time.Duration elapsed, double s) { }
            @Override public int previewEvery() { return 1; }
            @Override public void onPreview(int step, int total, RgbImage preview) { previews.add(preview); }
        };
        GenerationResult r = p.request().prompt("a").guidance(1f).steps(3).size(16, 8).batch(2).seed(3).listener(l).generate();
        assertThat(previews).hasSize(2);                       // after steps 1 and 2, not after the last
        assertThat(previews.get(0).width()).isEqualTo(16);     // decoded at the output size, one image
        assertThat(previews.get(0).height()).isEqualTo(8);
        assertThat(r.images()).hasSize(2);
    }
}
