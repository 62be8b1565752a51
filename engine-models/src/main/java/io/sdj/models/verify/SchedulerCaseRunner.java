package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Tensor;
import io.sdj.models.sampling.LcmSampler;
import io.sdj.models.sampling.NoiseSchedule;
import io.sdj.models.sampling.NoiseSource;
import io.sdj.models.sampling.Sampler;
import io.sdj.models.sampling.SamplerKind;
import io.sdj.models.sampling.Samplers;
import io.sdj.models.sampling.SchedulerConfig;
import io.sdj.weights.Safetensors;

import java.util.Arrays;

/**
 * Scheduler cases: for each run, the sampler of {@code scheduler_class} built from
 * {@code sd15_source_config + config_overrides}, driven through the case's loop with the recorded model outputs (and
 * recorded noise for stochastic samplers); every timestep, σ, scaled input, previous sample and x₀ estimate is an output.
 */
public final class SchedulerCaseRunner implements ComponentRunner {

    @Override
    public CaseOutputs run(GoldenCase c, boolean intermediates) {
        JsonNode j = c.json();
        SamplerKind kind = SamplerKind.parse(j.path("scheduler_class").asText());
        JsonNode base = j.path("sd15_source_config");
        CaseOutputs out = new CaseOutputs();
        try (Safetensors in = Safetensors.open(c.file("inputs.safetensors"))) {
            float[] xT = in.floats("x_T");
            int[] shape = in.entry("x_T").intShape();
            int numel = xT.length;
            float[] modelOutputs = in.floats("model_outputs");
            int available = in.entry("model_outputs").intShape()[0];

            NoiseSchedule baseSchedule = NoiseSchedule.of(SchedulerConfig.fromJson(base).forKind(kind));
            out.put("alphas_cumprod", Produced.of(baseSchedule.alphasCumprod(), baseSchedule.size()));
            out.put("betas", Produced.of(baseSchedule.betas(), baseSchedule.size()));

            for (JsonNode run : j.path("runs")) {
                String name = run.path("name").asText();
                SchedulerConfig cfg = SchedulerConfig.fromJson(base, run.path("config_overrides"));
                int steps = run.path("num_inference_steps").asInt();
                JsonNode kw = run.path("set_timesteps_kwargs");
                Sampler s = kind == SamplerKind.LCM && kw.has("original_inference_steps")
                        ? new LcmSampler(cfg, steps, kw.get("original_inference_steps").asInt())
                        : Samplers.create(kind, cfg, steps);
                float[] ts = s.timesteps();
                int n = ts.length;
                if (n > available) throw new IllegalStateException(c.name() + "/" + name + ": " + n + " steps but only " + available + " model outputs");
                NoiseSource noise = recordedNoise(in, name + "/noise", numel);

                float[] scaled = new float[n * numel], prev = new float[n * numel], pred = new float[n * numel];
                boolean hasPred = true;
                float init = s.initNoiseSigma();
                float[] x0 = new float[numel];
                for (int i = 0; i < numel; i++) x0[i] = xT[i] * init;
                Tensor x = new Tensor(x0, shape);
                for (int i = 0; i < n; i++) {
                    Tensor mi = s.scaleModelInput(x, ts[i]);
                    System.arraycopy(mi.data(), 0, scaled, i * numel, numel);
                    Tensor mo = new Tensor(Arrays.copyOfRange(modelOutputs, i * numel, (i + 1) * numel), shape);
                    Sampler.StepResult r = s.step(mo, ts[i], x, noise);
                    x = r.prevSample();
                    System.arraycopy(x.data(), 0, prev, i * numel, numel);
                    if (r.predOriginalSample() == null) hasPred = false;
                    else System.arraycopy(r.predOriginalSample().data(), 0, pred, i * numel, numel);
                }
                int[] stacked = new int[shape.length + 1];
                stacked[0] = n;
                System.arraycopy(shape, 0, stacked, 1, shape.length);
                if (s.integerTimesteps()) {
                    long[] lt = new long[n];
                    for (int i = 0; i < n; i++) lt[i] = (long) ts[i];
                    out.put(name + "/timesteps", Produced.ofLongs(lt, n));
                } else {
                    out.put(name + "/timesteps", Produced.of(ts, n));
                }
                float[] sig = s.sigmas();
                if (sig.length > 0) out.put(name + "/sigmas", Produced.of(sig, sig.length));
                out.put(name + "/init_noise_sigma", Produced.of(new float[] {init}, 1));
                out.put(name + "/scaled_model_input", Produced.of(scaled, stacked));
                out.put(name + "/prev_sample", Produced.of(prev, stacked));
                if (hasPred) out.put(name + "/pred_original_sample", Produced.of(pred, stacked));
            }
        }
        return out;
    }

    /** The k-th call returns the k-th recorded draw of {@code name} ([draws, *shape]); null when the case has none. */
    private static NoiseSource recordedNoise(Safetensors in, String name, int numel) {
        if (!in.contains(name)) return null;
        float[] all = in.floats(name);
        int draws = in.entry(name).intShape()[0];
        int[] next = {0};
        return shape -> {
            if (next[0] >= draws) throw new IllegalStateException(name + ": the sampler drew more than the " + draws + " recorded noise tensors");
            int k = next[0]++;
            return Arrays.copyOfRange(all, k * numel, (k + 1) * numel);
        };
    }
}
