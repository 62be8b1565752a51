package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.sampling.NoiseSource;
import io.sdj.models.Trace;
import io.sdj.models.taesd.TaesdEncoder;
import io.sdj.models.vae.AutoencoderKL;
import io.sdj.models.vae.LatentDistribution;

/**
 * The two ways to turn normalised pixels into UNet-space latents: the model's VAE as diffusers samples it
 * ({@code scaling_factor · (mean + std · noise)}, one Gaussian draw of the latents' shape; a VAE with a
 * {@code shift_factor} subtracts it first) and TAESD (takes [0, 1] pixels, outputs UNet-space latents, draws nothing).
 */
final class Encoders {
    private Encoders() {}

    static LatentEncoder vae(AutoencoderKL vae) {
        if (!vae.hasEncoder()) return null;
        return new LatentEncoder() {
            @Override
            public Tensor encode(Workspace ws, Tensor image, NoiseSource noise, String name, Trace trace) {
                return encode(ws, image, noise, name, VaeTilingMode.OFF, () -> { }, trace);
            }

            @Override
            public Tensor encode(Workspace ws, Tensor image, NoiseSource noise, String name, VaeTilingMode mode,
                                 Runnable betweenTiles, Trace trace) {
                return sample(vae, ws, vae.encode(ws, image, mode.forEncode(vae.config(), image.dim(2), image.dim(3)),
                        betweenTiles, CancellableTrace.blockCheckpoints(trace)), noise, name, trace);
            }
        };
    }

    /** scaling_factor · (mean + std · noise − shift), one draw of the latents' shape. */
    private static Tensor sample(AutoencoderKL vae, Workspace ws, LatentDistribution d, NoiseSource noise, String name, Trace trace) {
        try {
            trace.record("latent_dist_mean_" + name, d.mean());
            trace.record("latent_dist_std_" + name, d.std());
            Tensor z = Tensor.of(noise.next(d.mean().shape()), d.mean().shape());
            Tensor s = d.sample(ws, z);
            float[] out = new float[s.numel()], sd = s.data();
            float scale = vae.scalingFactor(), shift = vae.config().shiftFactor();
            for (int i = 0; i < out.length; i++) out[i] = scale * (sd[i] - shift);
            ws.release(s);
            return Tensor.of(out, d.mean().shape());
        } finally {
            d.release(ws);
        }
    }

    static LatentEncoder taesd(TaesdEncoder taesd) {
        return (ws, image, noise, name, trace) -> {
            Tensor x = ws.take(image.shape());
            float[] src = image.data(), dst = x.data();
            for (int i = 0, n = image.numel(); i < n; i++) dst[i] = src[i] / 2f + 0.5f;
            Tensor y = taesd.forward(ws, x, CancellableTrace.blockCheckpoints(trace));
            ws.release(x);
            Tensor out = y.copy();
            ws.release(y);
            return out;
        };
    }
}
