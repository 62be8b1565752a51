package io.sdj.models.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tiled VAE decode against diffusers' {@code AutoencoderKL.tiled_decode} (case vae-tiled-decoder). */
class VaeTilingGoldenTest {

    private static AutoencoderKL load(GoldenFixture f) throws IOException {
        return AutoencoderKL.load(new ObjectMapper().readTree(f.gc.file("config.json").toFile()), f.model);
    }

    private static VaeTiling tiling(JsonNode r) {
        return new VaeTiling(r.path("tile_sample_min_size").asInt(), r.path("tile_latent_min_size").asInt(),
                r.path("tile_overlap_factor").asDouble());
    }

    @Test
    void everyRunMatchesDiffusersAndTheTilesAreTheOnesItDecodes() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-tiled-decoder")) {
            AutoencoderKL vae = load(f);
            Workspace ws = new Workspace();
            for (String run : f.gc.runNames()) {
                JsonNode r = f.gc.run(run);
                VaeTiling t = tiling(r);
                assertThat(t.decodeStep()).isEqualTo(r.path("overlap_size").asInt());
                assertThat(t.decodeBlend()).isEqualTo(r.path("blend_extent").asInt());
                assertThat(t.sampleTile() - t.decodeBlend()).isEqualTo(r.path("row_limit").asInt());
                Tensor z = f.input(run + "/latents");
                assertThat(t.decodeTileCount(z.dim(2), z.dim(3))).isEqualTo(r.path("tiles").asInt());
                GoldenFixture.Recorder rec = new GoldenFixture.Recorder();
                AtomicInteger tiles = new AtomicInteger();
                Tensor image = vae.decode(ws, z, t, tiles::incrementAndGet, rec);
                assertThat(tiles.get()).isEqualTo(r.path("tiles").asInt());
                List<String> diag = run.equals("r0") ? f.compareIntermediates(run, rec, "") : List.of();
                f.assertOutput(run + "/image", image, diag.stream().filter(l -> !l.contains("untiled")).toList());
                if (run.equals("r0")) {
                    assertThat(diag).filteredOn(l -> l.startsWith("r0/tile_")).hasSize(6).allMatch(l -> l.endsWith("PASS"));
                    // the untiled decode differs (each tile sees less context): the test would notice a silent fallback
                    Tensor untiled = vae.decode(ws, z, Trace.NONE);
                    f.assertOutput("r0/image", image, List.of());
                    assertThat(maxAbsDiff(untiled, image)).isGreaterThan(0.1);
                    ws.release(untiled);
                }
                ws.release(image);
            }
        }
    }

    @Test
    void aLatentNoLargerThanOneTileIsDecodedWithoutTiling() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-tiled-decoder")) {
            AutoencoderKL vae = load(f);
            Workspace ws = new Workspace();
            Tensor z = f.input("r0/latents");
            VaeTiling big = new VaeTiling(8 * 28, 28, 0.25);
            assertThat(big.tilesLatent(20, 28)).isFalse();
            Tensor a = vae.decode(ws, z, big, () -> { throw new AssertionError("no tiles expected"); }, Trace.NONE);
            Tensor b = vae.decode(ws, z, Trace.NONE);
            assertThat(a.toArray()).containsExactly(b.toArray());
        }
    }

    @Test
    void cancellationBetweenTilesStopsTheDecode() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-tiled-decoder")) {
            AutoencoderKL vae = load(f);
            AtomicInteger n = new AtomicInteger();
            assertThatThrownBy(() -> vae.decode(new Workspace(), f.input("r0/latents"), tiling(f.gc.run("r0")), () -> {
                if (n.incrementAndGet() == 3) throw new CancellationException("cancelled before tile 3");
            }, Trace.NONE)).isInstanceOf(CancellationException.class);
            assertThat(n.get()).isEqualTo(3);
        }
    }

    /** Tiled encode: the tiles' moments blend to the same layout; with one tile it equals the plain encode. */
    @Test
    void tiledEncodeCoversTheImageAndEqualsThePlainEncodeWithinOneTile() throws IOException {
        try (GoldenFixture f = GoldenFixture.open("vae-sd-tiny-encoder")) {
            AutoencoderKL vae = load(f);
            Workspace ws = new Workspace();
            Tensor x = f.input("r0/image");
            int h = x.dim(2), w = x.dim(3);
            LatentDistribution plain = vae.encode(ws, x, Trace.NONE);
            LatentDistribution one = vae.encode(ws, x, new VaeTiling(Math.max(h, w), Math.max(h, w) / 8, 0.25), () -> { }, Trace.NONE);
            assertThat(one.mean().toArray()).containsExactly(plain.mean().toArray());
            VaeTiling small = new VaeTiling(32, 4, 0.25);   // tiles start every 24 pixels; blend 1 latent, crop 3
            List<String> tiles = new ArrayList<>();
            LatentDistribution tiled = vae.encode(ws, x, small, () -> { }, (name, t) -> tiles.add(name));
            assertThat(tiled.mean().shape()).containsExactly(plain.mean().shape());
            assertThat(tiles).hasSize(((h + 23) / 24) * ((w + 23) / 24));
            assertThat(maxAbsDiff(tiled.mean(), plain.mean())).isGreaterThan(0).isLessThan(100);
        }
    }

    /** blend_v by hand: row y of b becomes a[H−e+y]·(1−y/e) + b[y]·(y/e), float32 products of double weights. */
    @Test
    void blendRowsFollowsTheFormula() {
        Tensor a = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 1, 1, 3, 2);
        Tensor b = Tensor.of(new float[]{10, 20, 30, 40, 50, 60}, 1, 1, 3, 2);
        VaeTiling.blendRows(a, b, 2);
        // e = 2: y = 0 takes a's row 1 entirely; y = 1: a's row 2 · 0.5 + b's row 1 · 0.5
        assertThat(b.toArray()).containsExactly(3, 4, 0.5f * 5 + 0.5f * 30, 0.5f * 6 + 0.5f * 40, 50, 60);
        Tensor c = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 1, 1, 2, 3);
        Tensor d = Tensor.of(new float[]{10, 20, 30, 40, 50, 60}, 1, 1, 2, 3);
        VaeTiling.blendColumns(c, d, 3);
        float w1 = (float) (1 - 1 / 3.0), w2 = (float) (1 / 3.0), v1 = (float) (1 - 2 / 3.0), v2 = (float) (2 / 3.0);
        assertThat(d.toArray()).containsExactly(1, 2 * w1 + 20 * w2, 3 * v1 + 30 * v2, 4, 5 * w1 + 50 * w2, 6 * v1 + 60 * v2);
    }

    private static double maxAbsDiff(Tensor a, Tensor b) {
        double m = 0;
        for (int i = 0; i < a.numel(); i++) m = Math.max(m, Math.abs(a.data()[i] - b.data()[i]));
        return m;
    }
}
