package io.sdj.models.taesd;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.pipeline.VaeTilingMode;
import io.sdj.models.vae.RandomWeights;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TaesdTilingTest {
    private static TaesdDecoder taesd;

    @BeforeAll
    static void load() {
        try (RandomWeights w = new RandomWeights(TaesdDecoder.parameterShapes(4), 77, "synthetic TAESD decoder")) {
            taesd = TaesdDecoder.load(w);
        }
    }

    private static Tensor gaussian(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        Random r = new Random(seed);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }

    /**
     * diffusers' {@code AutoencoderTiny._tiled_decode} written out directly: the full 2-D blend masks from a meshgrid
     * of the ramp, tiles visited at range(0, size, traverse), every output tile region overwritten with
     * mask · tile + (1 − mask) · region in float32. Independent of {@link TaesdTiling}'s row/column loops.
     */
    private static float[] reference(Tensor x, int tile, double overlap, int sf, UnaryOperator<Tensor> decoder) {
        int b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        int blend = (int) (tile * overlap), traverse = tile - blend, m = tile * sf;
        float[][] maskRows = new float[m][m], maskCols = new float[m][m];
        for (int r = 0; r < m; r++) {
            for (int q = 0; q < m; q++) {
                maskRows[r][q] = Math.max(0f, Math.min(1f, (float) r / (float) (blend * sf - 1)));
                maskCols[r][q] = Math.max(0f, Math.min(1f, (float) q / (float) (blend * sf - 1)));
            }
        }
        int oh = h * sf, ow = w * sf;
        float[] out = new float[b * 3 * oh * ow];
        for (int i = 0; i < h; i += traverse) {
            for (int j = 0; j < w; j += traverse) {
                int th = Math.min(tile, h - i), tw = Math.min(tile, w - j);
                Tensor in = Tensor.zeros(b, c, th, tw);
                for (int p = 0; p < b * c; p++)
                    for (int y = 0; y < th; y++)
                        for (int q = 0; q < tw; q++) in.data()[(p * th + y) * tw + q] = x.data()[(p * h + i + y) * w + j + q];
                Tensor t = decoder.apply(in);
                int ph = t.dim(2), pw = t.dim(3);
                for (int p = 0; p < b * 3; p++) {
                    for (int y = 0; y < ph; y++) {
                        for (int q = 0; q < pw; q++) {
                            float mi = i == 0 ? 1f : maskRows[y][q], mj = j == 0 ? 1f : maskCols[y][q];
                            float mask = mi * mj;
                            int o = (p * oh + i * sf + y) * ow + j * sf + q;
                            out[o] = mask * t.data()[(p * ph + y) * pw + q] + (1f - mask) * out[o];
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void matchesDiffusersTiledDecodeWithTheRealDecoder() {
        // small tiles so the test runs in seconds: 16-latent tiles, 4 latents of overlap, over a 26×15 latent (odd
        // sizes: clipped edge tiles in both directions), batch 2
        TaesdTiling tiling = new TaesdTiling(16, 0.25, 8);
        Tensor x = gaussian(5, 2, 4, 26, 15);
        Workspace ws = new Workspace();
        UnaryOperator<Tensor> dec = t -> taesd.forward(ws, t, Trace.NONE);
        Tensor ours = tiling.decode(ws, x, dec, () -> { });
        float[] expected = reference(x, 16, 0.25, 8, t -> taesd.forward(new Workspace(), t, Trace.NONE));
        assertThat(ours.shape()).containsExactly(2, 3, 208, 120);
        assertThat(ours.data()).containsExactly(expected);
        assertThat(tiling.tileCount(26, 15)).isEqualTo(3 * 2);
    }

    @Test
    void aPositionIndependentDecoderGivesTheUntiledImage() {
        // a decoder whose output at a pixel depends only on the latent under it: every tile agrees with the untiled
        // decode, so the blend must reproduce it wherever the tiles land (this checks the tile geometry and coverage)
        UnaryOperator<Tensor> pointwise = t -> {
            int b = t.dim(0), h = t.dim(2), w = t.dim(3);
            Tensor y = Tensor.zeros(b, 3, 8 * h, 8 * w);
            for (int n = 0; n < b; n++)
                for (int ch = 0; ch < 3; ch++)
                    for (int r = 0; r < 8 * h; r++)
                        for (int q = 0; q < 8 * w; q++) {
                            float v = 0;
                            for (int l = 0; l < t.dim(1); l++) v += (ch + 1) * (l - 1.5f) * t.data()[((n * t.dim(1) + l) * h + r / 8) * w + q / 8];
                            y.data()[((n * 3 + ch) * 8 * h + r) * 8 * w + q] = v;
                        }
            return y;
        };
        Tensor x = gaussian(9, 1, 4, 150, 71);
        Tensor untiled = pointwise.apply(x);
        Tensor tiled = TaesdTiling.defaults().decode(new Workspace(), x, pointwise, () -> { });
        assertThat(tiled.shape()).containsExactly(untiled.shape());
        for (int i = 0; i < untiled.numel(); i++) {
            float u = untiled.data()[i], t = tiled.data()[i];
            assertThat(Math.abs(t - u)).as("pixel %d", i).isLessThanOrEqualTo(4 * Math.ulp(Math.abs(u)) + 1e-7f);
        }
    }

    @Test
    void runsTheCallbackBeforeEveryTileSoDecodingCanBeCancelled() {
        TaesdTiling tiling = new TaesdTiling(16, 0.25, 8);
        AtomicInteger calls = new AtomicInteger();
        Workspace ws = new Workspace();
        tiling.decode(ws, gaussian(1, 1, 4, 25, 13), t -> taesd.forward(ws, t, Trace.NONE), calls::incrementAndGet);
        assertThat(calls.get()).isEqualTo(tiling.tileCount(25, 13)).isEqualTo(3 * 2);
        assertThatThrownBy(() -> tiling.decode(ws, gaussian(1, 1, 4, 25, 13), t -> taesd.forward(ws, t, Trace.NONE),
                () -> { if (calls.incrementAndGet() > 8) throw new IllegalStateException("cancelled"); }))
                .hasMessage("cancelled");
    }

    @Test
    void boundsMemoryByTheTilesNotTheImage() {
        // untiled: the measured workspace stays within the constant the AUTO rule uses, and close to it
        Workspace untiled = new Workspace();
        taesd.forward(untiled, gaussian(2, 1, 4, 32, 32), Trace.NONE);
        long perPixel = untiled.allocatedBytes() / (256L * 256);
        assertThat(perPixel).isLessThanOrEqualTo(TaesdTiling.BYTES_PER_OUTPUT_PIXEL).isGreaterThan(TaesdTiling.BYTES_PER_OUTPUT_PIXEL * 7 / 10);
        // tiled over a 48×48 latent in 16-latent tiles starting every 12 (edge tiles of 12): the workspace keeps one
        // decode's buffers per distinct tile shape (16×16, 16×12, 12×16, 12×12), far below the untiled decode's
        TaesdTiling tiling = new TaesdTiling(16, 0.25, 8);
        Workspace ws = new Workspace();
        tiling.decode(ws, gaussian(3, 1, 4, 48, 48), t -> taesd.forward(ws, t, Trace.NONE), () -> { });
        long tileShapes = TaesdTiling.BYTES_PER_OUTPUT_PIXEL * (128L * 128 + 2L * 128 * 96 + 96L * 96);
        long output = 3L * 4 * 384 * 384, slices = 4L * 4 * 16 * 16 * 4;
        assertThat(ws.allocatedBytes()).isLessThan(tileShapes + output + slices)
                .isLessThan(TaesdTiling.untiledDecodeBytes(48, 48) / 2);
    }

    @Test
    void autoTilesOnlyImagesWhoseUntiledDecodeWouldExceedTheLimit() {
        assertThat(VaeTilingMode.AUTO.forTaesdDecode(64, 64)).isNull();        // 512²
        assertThat(VaeTilingMode.AUTO.forTaesdDecode(128, 128)).isNull();      // 1024²: still one piece
        assertThat(VaeTilingMode.AUTO.forTaesdDecode(256, 256)).isEqualTo(TaesdTiling.defaults());   // 2048²
        assertThat(VaeTilingMode.ON.forTaesdDecode(32, 32)).isEqualTo(TaesdTiling.defaults());
        assertThat(VaeTilingMode.OFF.forTaesdDecode(512, 512)).isNull();
        assertThat(TaesdTiling.defaults().tileCount(64, 64)).isEqualTo(4);      // diffusers tiles even one tile's worth
    }

    @Test
    void refusesSettingsThatWouldNeverBlendOrAdvance() {
        assertThatThrownBy(() -> new TaesdTiling(4, 0.1, 8)).hasMessageContaining("overlap");
        assertThatThrownBy(() -> new TaesdTiling(0, 0.125, 8)).hasMessageContaining("tile 0");
    }
}
