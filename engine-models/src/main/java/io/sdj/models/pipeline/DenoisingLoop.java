package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.sampling.NoiseSource;
import io.sdj.models.sampling.Sampler;

import java.time.Duration;
import java.util.Arrays;

/**
 * Stage 3 of every pipeline: the sampler's steps from {@code start} to the end. Per step: scale the input, append
 * the inpainting UNet's extra channels when given ({@code [latents, mask, masked image latents]}, diffusers'
 * 9-channel layout), run the denoiser on [negative, positive] with classifier-free guidance
 * ({@code uncond + g·(cond − uncond)}) or on the positive rows alone, take the sampler step, then blend with the
 * re-noised original outside the mask when a {@link Blend} is given (4-channel inpainting). Reports progress and,
 * every {@code listener.previewEvery()} steps, a preview (TAESD when the model has one, else the linear latent→RGB
 * approximation) of the predicted clean latents (the current latents when the sampler gives none).
 * <p>Trace: {@code unet_input.i}, {@code unet_output.i}, {@code step_latents.i}.
 */
final class DenoisingLoop {
    /** 9-channel inpainting input: mask [n, 1, h, w] and masked-image latents [n, C, h, w], appended to every row. */
    record ExtraChannels(Tensor mask, Tensor maskedImageLatents) { }

    /**
     * 4-channel inpainting: after step i, {@code latents = (1 − mask)·proper + mask·latents} with
     * {@code proper = add_noise(imageLatents, noise, step start+i+1)}, or {@code imageLatents} after the last step.
     */
    record Blend(Tensor mask, Tensor imageLatents, float[] noise) { }

    private DenoisingLoop() {}

    static Tensor run(Workspace ws, PipelineParts parts, GenerationRequest r, Sampler sampler, int start, Tensor latents,
                      Tensor context, Tensor timestepCond, boolean cfg, NoiseSource noise, ExtraChannels extra, Blend blend,
                      long[] stepNanos) {
        float[] timesteps = sampler.timesteps();
        int n = latents.dim(0), c = latents.dim(1), h = latents.dim(2), w = latents.dim(3);
        int rows = cfg ? 2 * n : n, numel = n * c * h * w, plane = h * w;
        int cIn = c + (extra == null ? 0 : 1 + extra.maskedImageLatents().dim(1));
        int total = timesteps.length - start;
        Trace trace = r.trace();
        ProgressListener listener = r.listener();
        int every = Math.max(0, listener.previewEvery());
        float[] ts = new float[rows];
        long loopStart = System.nanoTime();
        for (int i = 0; i < total; i++) {
            int k = start + i;
            r.cancellation().check("before step " + (i + 1) + " of " + total);
            long s0 = System.nanoTime();
            Tensor scaled = sampler.scaleModelInput(latents, timesteps[k]);
            Tensor input = ws.take(rows, cIn, h, w);
            float[] in = input.data(), sd = scaled.data();
            for (int row = 0; row < rows; row++) {
                int b = row % n, dst = row * cIn * plane;
                System.arraycopy(sd, b * c * plane, in, dst, c * plane);
                if (extra != null) {
                    System.arraycopy(extra.mask().data(), b * plane, in, dst + c * plane, plane);
                    int mc = extra.maskedImageLatents().dim(1);
                    System.arraycopy(extra.maskedImageLatents().data(), b * mc * plane, in, dst + (c + 1) * plane, mc * plane);
                }
            }
            Arrays.fill(ts, timesteps[k]);
            trace.record("unet_input." + i, input);
            Tensor out = parts.denoiser().predict(ws, input, ts, context, timestepCond, Trace.NONE);
            ws.release(input);
            trace.record("unet_output." + i, out);
            Tensor guided = out;
            if (cfg) {
                guided = ws.take(n, c, h, w);
                float[] o = out.data(), g = guided.data();
                float scale = r.guidance();
                for (int e = 0; e < numel; e++) {
                    float u = o[e], t = o[numel + e];
                    g[e] = u + scale * (t - u);
                }
                ws.release(out);
            }
            Sampler.StepResult step = sampler.step(guided, timesteps[k], latents, noise);
            ws.release(guided);
            latents = step.prevSample();
            if (blend != null) latents = blend(sampler, blend, latents, k + 1 < timesteps.length ? k + 1 : -1);
            trace.record("step_latents." + i, latents);
            stepNanos[i] = System.nanoTime() - s0;
            long elapsed = System.nanoTime() - loopStart;
            listener.onStep(i + 1, total, Duration.ofNanos(elapsed), elapsed / 1e9 / (i + 1));
            if (every > 0 && (i + 1) % every == 0 && i + 1 < total) {
                Tensor x = step.predOriginalSample() != null ? step.predOriginalSample() : latents;
                RgbImage preview = preview(ws, parts, x);
                if (preview != null) listener.onPreview(i + 1, total, preview);
            }
        }
        return latents;
    }

    private static Tensor blend(Sampler sampler, Blend b, Tensor latents, int nextIndex) {
        Tensor proper = nextIndex < 0 ? b.imageLatents() : LatentNoising.addNoise(sampler, b.imageLatents(), b.noise(), nextIndex);
        int n = latents.dim(0), c = latents.dim(1), plane = latents.dim(2) * latents.dim(3);
        float[] x = latents.data(), p = proper.data(), m = b.mask().data(), out = new float[latents.numel()];
        for (int bi = 0; bi < n; bi++) {
            for (int ch = 0; ch < c; ch++) {
                int o = (bi * c + ch) * plane;
                for (int q = 0; q < plane; q++) {
                    float mk = m[bi * plane + q];
                    out[o + q] = (1f - mk) * p[o + q] + mk * x[o + q];
                }
            }
        }
        return Tensor.of(out, latents.shape());
    }

    /** First batch row: TAESD when the model has it, else the linear approximation for 4-channel latents, else none. */
    static RgbImage preview(Workspace ws, PipelineParts parts, Tensor latents) {
        if (parts.taesd() != null) return LatentPreview.decoder(parts.taesd(), ws, latents, 0);
        return latents.dim(1) == 4 ? LatentPreview.linear(latents, 0) : null;
    }
}
