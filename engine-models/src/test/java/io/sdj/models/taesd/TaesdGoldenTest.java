package io.sdj.models.taesd;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.vae.GoldenFixture;
import io.sdj.models.vae.RandomWeights;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** TAESD decoder/encoder against the taesd.py fixtures (every run), plus layout and error checks. */
class TaesdGoldenTest {

    @Test
    void decoderMatchesTaesdPy() { decoderCase("taesd-decoder"); }

    @Test
    void poolDecoderMatchesTaesdPy() { decoderCase("taesd-pool-decoder"); }

    @Test
    void encoderMatchesTaesdPy() { encoderCase("taesd-encoder"); }

    @Test
    void poolEncoderMatchesTaesdPy() { encoderCase("taesd-pool-encoder"); }

    private static void decoderCase(String name) {
        try (GoldenFixture f = GoldenFixture.open(name)) {
            TaesdDecoder dec = TaesdDecoder.load(f.model);
            Workspace ws = new Workspace();
            String traced = "r2"; // intermediates are recorded for the small run
            for (String run : f.gc.runNames()) {
                GoldenFixture.Recorder rec = new GoldenFixture.Recorder();
                Tensor image = dec.forward(ws, f.input(run + "/latents"), run.equals(traced) ? rec : Trace.NONE);
                List<String> diag = f.compareIntermediates(run, rec, "");
                f.assertOutput(run + "/image", image, diag);
                if (run.equals(traced)) f.assertIntermediates(run, rec, "");
                ws.release(image);
            }
        }
    }

    private static void encoderCase(String name) {
        try (GoldenFixture f = GoldenFixture.open(name)) {
            TaesdEncoder enc = TaesdEncoder.load(f.model);
            Workspace ws = new Workspace();
            String traced = "r1";
            for (String run : f.gc.runNames()) {
                GoldenFixture.Recorder rec = new GoldenFixture.Recorder();
                Tensor latents = enc.forward(ws, f.input(run + "/image"), run.equals(traced) ? rec : Trace.NONE);
                List<String> diag = f.compareIntermediates(run, rec, "");
                f.assertOutput(run + "/latents", latents, diag);
                if (run.equals(traced)) f.assertIntermediates(run, rec, "");
                ws.release(latents);
            }
        }
    }

    @Test
    void fixtureWeightsHaveExactlyTheExpectedNamesAndShapes() {
        for (String c : new String[] {"taesd-decoder", "taesd-encoder", "taesd-pool-decoder", "taesd-pool-encoder"}) {
            try (GoldenFixture f = GoldenFixture.open(c)) {
                boolean pool = c.contains("pool");
                int latent = pool ? 32 : 4;
                Map<String, int[]> shapes = c.endsWith("decoder") ? TaesdDecoder.parameterShapes(latent, pool) : TaesdEncoder.parameterShapes(latent, pool);
                assertThat(shapes.keySet()).as(c).containsExactlyInAnyOrderElementsOf(f.model.names());
                for (var e : shapes.entrySet()) {
                    assertThat(f.model.entry(e.getKey()).intShape()).as(c + " " + e.getKey()).containsExactly(e.getValue());
                }
            }
        }
    }

    @Test
    void latentChannelsComeFromTheWeights() {
        for (int l : new int[] {4, 16, 32}) {
            try (RandomWeights d = new RandomWeights(TaesdDecoder.parameterShapes(l, l == 32), 5, "d");
                 RandomWeights e = new RandomWeights(TaesdEncoder.parameterShapes(l, l == 32), 6, "e")) {
                TaesdDecoder dec = TaesdDecoder.load(d);
                TaesdEncoder enc = TaesdEncoder.load(e);
                assertThat(dec.latentChannels()).isEqualTo(l);
                assertThat(enc.latentChannels()).isEqualTo(l);
                Workspace ws = new Workspace();
                Tensor z = enc.forward(ws, Tensor.zeros(1, 3, 16, 24), Trace.NONE);
                assertThat(z.shape()).containsExactly(1, l, 2, 3);
                assertThat(dec.forward(ws, z, Trace.NONE).shape()).containsExactly(1, 3, 16, 24);
            }
        }
    }

    /** The released {@code .pth} of the pool cases, read by the safe checkpoint reader, gives the fixture's outputs. */
    @Test
    void poolDecoderFromItsPthFile() {
        try (GoldenFixture f = GoldenFixture.open("taesd-pool-decoder");
             io.sdj.weights.TorchCheckpoint pth = io.sdj.weights.TorchCheckpoint.open(f.gc.file("taesd_decoder.pth"))) {
            assertThat(pth.dtype("3.pool.0.weight")).isEqualTo("F16");
            TaesdDecoder dec = TaesdDecoder.load(pth);
            Workspace ws = new Workspace();
            Tensor image = dec.forward(ws, f.input("r2/latents"), Trace.NONE);
            f.assertOutput("r2/image", image, List.of());
        }
    }

    @Test
    void standaloneFilesSayWhichHalfTheyHold() {
        try (GoldenFixture f = GoldenFixture.open("taesd-pool-encoder");
             TaesdFiles files = TaesdFiles.open(f.gc.file("taesd_encoder.pth"))) {
            assertThat(files.hasEncoder()).isTrue();
            assertThat(files.hasDecoder()).isFalse();
            assertThatThrownBy(files::decoder).hasMessageContaining("taesd_encoder.pth").hasMessageContaining("holds a TAESD encoder, not a decoder");
            TaesdEncoder enc = TaesdEncoder.load(files.encoder());
            assertThat(enc.latentChannels()).isEqualTo(32);
            Tensor z = enc.forward(new Workspace(), f.input("r1/image"), Trace.NONE);
            f.assertOutput("r1/latents", z, List.of());
        }
        assertThatThrownBy(() -> TaesdFiles.open(java.nio.file.Path.of("no-such-taesd.pth"))).hasMessageContaining("TAESD weights not found: no-such-taesd.pth");
    }

    @Test
    void decoderFlopsMatchTheKnownCount() {
        // 141 GFLOP at 512² (64² latent), 35 at 256² (performance-facts.md).
        try (RandomWeights w = new RandomWeights(TaesdDecoder.parameterShapes(4), 1, "taesd")) {
            TaesdDecoder dec = TaesdDecoder.load(w);
            assertThat(dec.flops(1, 64, 64) / 1e9).isBetween(140.0, 142.0);
            assertThat(dec.flops(1, 32, 32) / 1e9).isBetween(34.5, 35.8);
        }
    }

    @Test
    void wrongInputChannelsGiveAClearMessage() {
        try (RandomWeights d = new RandomWeights(TaesdDecoder.parameterShapes(4), 1, "taesd decoder");
             RandomWeights e = new RandomWeights(TaesdEncoder.parameterShapes(4), 2, "taesd encoder")) {
            Workspace ws = new Workspace();
            TaesdDecoder dec = TaesdDecoder.load(d);
            TaesdEncoder enc = TaesdEncoder.load(e);
            assertThatThrownBy(() -> dec.forward(ws, Tensor.zeros(1, 3, 8, 8), Trace.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 3, 8, 8]").hasMessageContaining("[N, 4, h, w]");
            assertThatThrownBy(() -> enc.forward(ws, Tensor.zeros(1, 4, 16, 16), Trace.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 4, 16, 16]").hasMessageContaining("[N, 3, H, W]");
            assertThatThrownBy(() -> TaesdDecoder.load(e)).hasMessageContaining("TAESD decoder");
            assertThatThrownBy(() -> TaesdEncoder.load(d)).hasMessageContaining("TAESD encoder");
        }
    }

    @Test
    void oneAndTwoThreadsAreBitIdentical() {
        int before = io.sdj.core.Parallel.threads();
        try (RandomWeights d = new RandomWeights(TaesdDecoder.parameterShapes(4), 3, "taesd decoder");
             RandomWeights e = new RandomWeights(TaesdEncoder.parameterShapes(4), 4, "taesd encoder")) {
            TaesdDecoder dec = TaesdDecoder.load(d);
            TaesdEncoder enc = TaesdEncoder.load(e);
            Tensor x = Tensor.zeros(1, 3, 24, 40);
            for (int i = 0; i < x.numel(); i++) x.data()[i] = (float) (0.5 + 0.5 * Math.sin(i * 0.013));
            float[][] out = new float[2][];
            for (int t = 1; t <= 2; t++) {
                io.sdj.core.Parallel.setThreads(t);
                Workspace ws = new Workspace();
                Tensor z = enc.forward(ws, x, Trace.NONE);
                assertThat(z.shape()).containsExactly(1, 4, 3, 5);
                out[t - 1] = dec.forward(ws, z, Trace.NONE).toArray();
            }
            assertThat(out[1]).containsExactly(out[0]);
        } finally {
            io.sdj.core.Parallel.setThreads(before);
        }
    }
}
