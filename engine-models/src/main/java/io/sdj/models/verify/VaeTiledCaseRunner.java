package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.vae.AutoencoderKL;
import io.sdj.models.vae.VaeTiling;

/**
 * The {@code vae_tiled_decoder} case: {@link AutoencoderKL#decode(Workspace, Tensor, VaeTiling, Runnable, Trace)} of
 * every run's latents with the run's tile sizes and overlap; intermediates are the raw tiles ({@code tile_<row>_<col>})
 * and, for the traced run, the same latents decoded without tiling ({@code untiled_image}).
 */
public final class VaeTiledCaseRunner implements ComponentRunner {

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        return EachRun.of(c, intermediates, AutoencoderKL::load, (vae, run, in, ws, trace, out) -> {
            VaeTiling tiling = tiling(c.run(run), vae, run);
            Tensor z = Recorder.tensor(in, run + "/latents");
            Tensor image = vae.decode(ws, z, tiling, () -> { }, trace);
            out.put(run + "/image", Produced.of(image));
            ws.release(image);
            if (trace.keepsActivations()) {
                Tensor untiled = vae.decode(ws, z, Trace.NONE);
                trace.record("untiled_image", untiled);
                ws.release(untiled);
            }
        });
    }

    /** The run's tile settings; each one the run leaves out takes diffusers' default for this VAE. */
    static VaeTiling tiling(JsonNode r, AutoencoderKL vae, String run) {
        VaeTiling d = VaeTiling.defaults(vae.config());
        JsonNode s = r.path("tile_sample_min_size"), l = r.path("tile_latent_min_size"), f = r.path("tile_overlap_factor");
        try {
            return new VaeTiling(s.isMissingNode() ? d.sampleTile() : s.asInt(), l.isMissingNode() ? d.latentTile() : l.asInt(),
                    f.isMissingNode() ? d.overlapFactor() : f.asDouble());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(run + ": " + e.getMessage(), e);
        }
    }
}
