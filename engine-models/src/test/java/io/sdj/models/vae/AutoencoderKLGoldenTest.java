package io.sdj.models.vae;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** AutoencoderKL against the diffusers fixtures vae-sd-tiny-decoder and vae-sd-tiny-encoder (every run, every output). */
class AutoencoderKLGoldenTest {

    private static AutoencoderKL load(GoldenFixture f) throws IOException {
        return AutoencoderKL.load(new ObjectMapper().readTree(f.gc.file("config.json").toFile()), f.model);
    }

    @Test
    void decoderMatchesDiffusers() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-sd-tiny-decoder")) {
            AutoencoderKL vae = load(f);
            assertThat(vae.scalingFactor()).isEqualTo(0.18215f);
            Workspace ws = new Workspace();
            for (String run : f.gc.runNames()) {
                GoldenFixture.Recorder rec = new GoldenFixture.Recorder();
                Tensor z = f.input(run + "/latents");
                Tensor image = vae.decode(ws, z, run.equals("r0") ? rec : Trace.NONE);
                List<String> diag = f.compareIntermediates(run, rec, "");
                f.assertOutput(run + "/image", image, diag);
                if (run.equals("r0")) f.assertIntermediates(run, rec, "");
                ws.release(image);
            }
        }
    }

    @Test
    void decodeLatentsDividesByTheScalingFactor() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-sd-tiny-decoder")) {
            AutoencoderKL vae = load(f);
            Workspace ws = new Workspace();
            Tensor z = f.input("r0/latents");
            Tensor latents = z.copy();
            float[] d = latents.data();
            for (int i = 0; i < d.length; i++) d[i] *= vae.scalingFactor();
            Tensor image = vae.decodeLatents(ws, latents, Trace.NONE);
            f.assertOutput("r0/image", image, List.of());
        }
    }

    @Test
    void encoderMatchesDiffusers() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-sd-tiny-encoder")) {
            AutoencoderKL vae = load(f);
            Workspace ws = new Workspace();
            for (String run : f.gc.runNames()) {
                GoldenFixture.Recorder rec = new GoldenFixture.Recorder();
                LatentDistribution dist = vae.encode(ws, f.input(run + "/image"), run.equals("r0") ? rec : Trace.NONE);
                List<String> diag = f.compareIntermediates(run, rec, "");
                Tensor sample = dist.sample(ws, f.input(run + "/noise"));
                for (var e : Map.of("moments", dist.moments(), "mean", dist.mean(), "logvar", dist.logvar(),
                        "std", dist.std(), "sample", sample).entrySet()) {
                    f.assertOutput(run + "/" + e.getKey(), e.getValue(), diag);
                }
                if (run.equals("r0")) f.assertIntermediates(run, rec, "");
                dist.release(ws);
                ws.release(sample);
            }
        }
    }

    @Test
    void fixtureWeightsHaveExactlyTheExpectedNamesAndShapes() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-sd-tiny-decoder")) {
            VaeConfig c = VaeConfig.fromJson(new ObjectMapper().readTree(f.gc.file("config.json").toFile()));
            Map<String, int[]> shapes = VaeParameterShapes.of(c);
            assertThat(shapes.keySet()).containsExactlyInAnyOrderElementsOf(f.model.names());
            for (var e : shapes.entrySet()) {
                assertThat(f.model.entry(e.getKey()).intShape()).as(e.getKey()).containsExactly(e.getValue());
            }
        }
    }

    @Test
    void steadyStateDecodeAllocatesNothing() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-sd-tiny-decoder")) {
            AutoencoderKL vae = load(f);
            Workspace ws = new Workspace();
            Tensor z = f.input("r0/latents");
            ws.release(vae.decode(ws, z, Trace.NONE));
            long before = ws.allocations();
            ws.release(vae.decode(ws, z, Trace.NONE));
            assertThat(ws.allocations()).isEqualTo(before);
        }
    }
}
