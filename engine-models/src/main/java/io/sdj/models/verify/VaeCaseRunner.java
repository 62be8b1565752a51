package io.sdj.models.verify;

import io.sdj.core.Tensor;
import io.sdj.models.vae.AutoencoderKL;
import io.sdj.models.vae.LatentDistribution;

/**
 * VAE cases ({@link AutoencoderKL}): {@code vae_decoder} decodes every run's latents (already divided by the scaling
 * factor) to {@code image}; {@code vae_encoder} encodes every run's image to the latent distribution (moments, mean,
 * clamped logvar, std) and draws {@code sample = mean + std·noise} with the recorded noise.
 */
public final class VaeCaseRunner implements ComponentRunner {
    private final boolean decoder;

    public VaeCaseRunner(boolean decoder) { this.decoder = decoder; }

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        return EachRun.of(c, intermediates, AutoencoderKL::load, (vae, run, in, ws, trace, out) -> {
            if (decoder) {
                Tensor image = vae.decode(ws, Recorder.tensor(in, run + "/latents"), trace);
                out.put(run + "/image", Produced.of(image));
                ws.release(image);
            } else {
                LatentDistribution d = vae.encode(ws, Recorder.tensor(in, run + "/image"), trace);
                out.put(run + "/moments", Produced.of(d.moments()));
                out.put(run + "/mean", Produced.of(d.mean()));
                out.put(run + "/logvar", Produced.of(d.logvar()));
                out.put(run + "/std", Produced.of(d.std()));
                Tensor sample = d.sample(ws, Recorder.tensor(in, run + "/noise"));
                out.put(run + "/sample", Produced.of(sample));
                ws.release(sample);
                d.release(ws);
            }
        });
    }
}
