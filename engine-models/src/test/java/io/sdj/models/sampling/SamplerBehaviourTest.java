package io.sdj.models.sampling;

import io.sdj.core.Tensor;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Configuration handling, refusals, state isolation and noise use of the samplers (no reference data needed). */
class SamplerBehaviourTest {

    private static final SchedulerConfig SD1 = SchedulerConfig.stableDiffusion1();

    @Test
    void unknownKeysAreIgnoredAndClassDefaultsApplyToAbsentKeys() {
        SchedulerConfig c = SchedulerConfig.parse("{\"skip_prk_steps\": true, \"some_future_key\": [1, 2], \"lambda_min_clipped\": -Infinity}");
        assertThat(c.lambdaMinClipped()).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(c.forKind(SamplerKind.DDIM).clipSample()).isTrue();
        assertThat(c.forKind(SamplerKind.DDIM).setAlphaToOne()).isTrue();
        assertThat(c.forKind(SamplerKind.DDIM).timestepSpacing()).isEqualTo(TimestepSpacing.LEADING);
        assertThat(c.forKind(SamplerKind.EULER).timestepSpacing()).isEqualTo(TimestepSpacing.LINSPACE);
        assertThat(c.forKind(SamplerKind.PNDM).setAlphaToOne()).isFalse();
        // explicit keys win over class defaults
        SchedulerConfig explicit = SchedulerConfig.parse("{\"timestep_spacing\": \"trailing\", \"clip_sample\": false}");
        assertThat(explicit.forKind(SamplerKind.EULER).timestepSpacing()).isEqualTo(TimestepSpacing.TRAILING);
        assertThat(explicit.forKind(SamplerKind.DDIM).clipSample()).isFalse();
    }

    @Test
    void unsupportedValuesAreRefusedNamingKeyAndValue() {
        assertThatThrownBy(() -> SchedulerConfig.parse("{\"prediction_type\": \"flow\"}"))
                .hasMessageContaining("prediction_type").hasMessageContaining("flow");
        assertThatThrownBy(() -> SchedulerConfig.parse("{\"beta_schedule\": \"sigmoid\"}"))
                .hasMessageContaining("beta_schedule").hasMessageContaining("sigmoid");
        assertThatThrownBy(() -> SchedulerConfig.parse("{\"timestep_spacing\": \"karras\"}"))
                .hasMessageContaining("timestep_spacing").hasMessageContaining("karras");
        assertThatThrownBy(() -> SchedulerConfig.parse("{\"num_train_timesteps\": \"many\"}"))
                .hasMessageContaining("num_train_timesteps").hasMessageContaining("many");
        assertThatThrownBy(() -> new DdimSampler(SchedulerConfig.parse("{\"thresholding\": true}"), 10))
                .hasMessageContaining("thresholding").hasMessageContaining("true");
        assertThatThrownBy(() -> new EulerSampler(SchedulerConfig.parse("{\"rescale_betas_zero_snr\": true}"), 10))
                .hasMessageContaining("rescale_betas_zero_snr");
        assertThatThrownBy(() -> new DpmSolverMultistepSampler(SchedulerConfig.parse("{\"algorithm_type\": \"sde-dpmsolver++\"}"), 10))
                .hasMessageContaining("algorithm_type").hasMessageContaining("sde-dpmsolver++");
        assertThatThrownBy(() -> new DpmSolverMultistepSampler(SchedulerConfig.parse("{\"solver_order\": 3}"), 10))
                .hasMessageContaining("solver_order").hasMessageContaining("3");
        assertThatThrownBy(() -> new PndmSampler(SchedulerConfig.parse("{}"), 10))
                .hasMessageContaining("skip_prk_steps");
        assertThatThrownBy(() -> new EulerSampler(SchedulerConfig.parse("{\"timestep_type\": \"continuous\"}"), 10))
                .hasMessageContaining("timestep_type").hasMessageContaining("continuous");
        assertThatThrownBy(() -> new DdimSampler(SD1, 0)).hasMessageContaining("steps");
        assertThatThrownBy(() -> new LcmSampler(SD1, 60)).hasMessageContaining("original_inference_steps");
        // a DPM-only option does not stop another sampler
        new DdimSampler(SchedulerConfig.parse("{\"algorithm_type\": \"sde-dpmsolver++\", \"solver_order\": 3}"), 10);
    }

    @Test
    void cosineAndLinearSchedulesAreValid() {
        for (String sched : new String[] {"linear", "squaredcos_cap_v2", "scaled_linear"}) {
            NoiseSchedule s = NoiseSchedule.of(SchedulerConfig.parse("{\"beta_schedule\": \"" + sched + "\"}"));
            float[] ac = s.alphasCumprod();
            assertThat(ac).hasSize(1000);
            for (int i = 1; i < ac.length; i++) assertThat(ac[i]).isLessThan(ac[i - 1]).isPositive();
        }
        float[] b = NoiseSchedule.of(SchedulerConfig.parse("{\"beta_schedule\": \"linear\"}")).betas();
        assertThat(b[0]).isEqualTo(0.0001f);
        assertThat(b[999]).isEqualTo(0.02f);
        assertThatThrownBy(() -> NoiseSchedule.of(SchedulerConfig.parse("{\"trained_betas\": [0.1, 0.2]}")))
                .hasMessageContaining("trained_betas");
    }

    /** SD 1.x's leading spacing with steps_offset 1 reaches timestep 1000 at 1000 steps: refused before any step runs. */
    @Test
    void stepsThatReachPastTheTrainedTimestepsAreRefusedUpFront() {
        for (SamplerKind kind : new SamplerKind[] {SamplerKind.DDIM, SamplerKind.PNDM}) {
            assertThatThrownBy(() -> Samplers.create(kind, SD1, 1000))
                    .hasMessage("number of steps 1000 with 'leading' spacing and steps_offset 1 reaches timestep 1000, outside the trained [0, 1000): use at most 999 steps");
            assertThat(Samplers.create(kind, SD1, 999).timesteps()[0]).isEqualTo(999f);
        }
    }

    @Test
    void eachSamplerInstanceKeepsItsOwnState() {
        // two interleaved PNDM generations give the same results as two separate ones
        int[] shape = {1, 4, 2, 2};
        for (SamplerKind kind : new SamplerKind[] {SamplerKind.PNDM, SamplerKind.DPMPP_2M, SamplerKind.EULER, SamplerKind.LCM}) {
            Sampler a = Samplers.create(kind, SD1, 6), b = Samplers.create(kind, SD1, 6), solo = Samplers.create(kind, SD1, 6);
            float[] ts = a.timesteps();
            Tensor xa = new Tensor(new TorchGenerator(1).randn(shape), shape), xb = new Tensor(new TorchGenerator(2).randn(shape), shape);
            Tensor xs = xa;
            TorchGenerator ga = new TorchGenerator(10), gb = new TorchGenerator(11), gs = new TorchGenerator(10);
            for (int i = 0; i < ts.length; i++) {
                Tensor ea = fakeModel(a.scaleModelInput(xa, ts[i]), i), eb = fakeModel(b.scaleModelInput(xb, ts[i]), i + 100);
                xa = a.step(ea, ts[i], xa, ga).prevSample();
                xb = b.step(eb, ts[i], xb, gb).prevSample();
                xs = solo.step(fakeModel(solo.scaleModelInput(xs, ts[i]), i), ts[i], xs, gs).prevSample();
            }
            assertThat(xa.data()).as(kind.cliName()).containsExactly(xs.data());
        }
    }

    @Test
    void steppingPastTheLastStepIsRefusedNamingTheSampler() {
        int[] shape = {1, 4, 2, 2};
        for (SamplerKind kind : new SamplerKind[] {SamplerKind.EULER, SamplerKind.EULER_ANCESTRAL, SamplerKind.DPMPP_2M, SamplerKind.LCM}) {
            Sampler s = Samplers.create(kind, SD1, 3);
            float[] ts = s.timesteps();
            Tensor x = new Tensor(new TorchGenerator(1).randn(shape), shape);
            TorchGenerator g = new TorchGenerator(2);
            for (int i = 0; i < ts.length; i++) x = s.step(fakeModel(s.scaleModelInput(x, ts[i]), i), ts[i], x, g).prevSample();
            Tensor last = x;
            assertThatThrownBy(() -> s.step(fakeModel(last, 9), ts[ts.length - 1], last, g))
                    .as(kind.cliName()).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("all " + ts.length + " steps are done");
        }
    }

    private static Tensor fakeModel(Tensor input, int salt) {
        float[] d = input.toArray();
        for (int i = 0; i < d.length; i++) d[i] = (float) Math.sin(d[i] + salt * 0.37 + i);
        return new Tensor(d, input.shape());
    }

    @Test
    void stochasticSamplersDrawOneNoiseTensorPerStepOfTheSampleShape() {
        int[] shape = {1, 4, 3, 5};
        AtomicInteger draws = new AtomicInteger();
        NoiseSource counting = s -> { assertThat(s).containsExactly(shape); draws.incrementAndGet(); return new float[(int) Tensor.numel(s)]; };
        Sampler ea = new EulerAncestralSampler(SD1, 4);
        Tensor x = new Tensor(new float[60], shape);
        for (float t : ea.timesteps()) x = ea.step(x, t, x, counting).prevSample();
        assertThat(draws.get()).isEqualTo(4); // diffusers draws on the last step too
        draws.set(0);
        Sampler lcm = new LcmSampler(SD1, 4);
        x = new Tensor(new float[60], shape);
        for (float t : lcm.timesteps()) x = lcm.step(x, t, x, counting).prevSample();
        assertThat(draws.get()).isEqualTo(3); // none after the last step
        assertThatThrownBy(() -> new EulerAncestralSampler(SD1, 4).step(new Tensor(new float[60], shape), 999f, new Tensor(new float[60], shape), null))
                .hasMessageContaining("noise");
    }

    @Test
    void ddimWithEtaAddsScaledNoise() {
        int[] shape = {1, 1, 2, 2};
        Tensor x = new Tensor(new float[] {0.5f, -1f, 2f, 0.1f}, shape), eps = new Tensor(new float[] {0.3f, 0.2f, -0.4f, 1f}, shape);
        DdimSampler det = new DdimSampler(SD1, 10);
        float t = det.timesteps()[3];
        float[] zero = new DdimSampler(SD1, 10, 0.5f).step(eps, t, x, s -> new float[4]).prevSample().data();
        float[] ones = new DdimSampler(SD1, 10, 0.5f).step(eps, t, x, s -> new float[] {1, 1, 1, 1}).prevSample().data();
        float[] plain = det.step(eps, t, x, null).prevSample().data();
        assertThat(zero).isNotEqualTo(plain); // the direction term shrinks when eta > 0
        float std = ones[0] - zero[0];
        assertThat(std).isPositive();
        for (int i = 1; i < 4; i++) assertThat(ones[i] - zero[i]).isCloseTo(std, org.assertj.core.data.Offset.offset(1e-6f));
        assertThatThrownBy(() -> new DdimSampler(SD1, 10, 0.5f).step(eps, t, x, null)).hasMessageContaining("noise");
    }

    @Test
    void dpmWithAZeroFinalSigmaEndsOnTheDataPrediction() {
        SchedulerConfig zero = SchedulerConfig.parse("{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, "
                + "\"beta_end\": 0.012, \"final_sigmas_type\": \"zero\"}");
        int[] shape = {1, 1, 2, 2};
        for (int steps : new int[] {1, 5, 20}) {
            DpmSolverMultistepSampler s = new DpmSolverMultistepSampler(zero, steps);
            assertThat(s.sigmas()[steps]).isZero();
            Tensor x = new Tensor(new float[] {0.3f, -0.7f, 1.1f, 0.05f}, shape);
            float[] ts = s.timesteps();
            Sampler.StepResult r = null;
            Tensor eps = new Tensor(new float[] {0.2f, 0.1f, -0.3f, 0.4f}, shape);
            for (float t : ts) {
                Tensor before = x;
                r = s.step(eps, t, x, null);
                x = r.prevSample();
                if (t == ts[ts.length - 1]) {
                    // last step is first order onto σ = 0: x₀ = (x − σ·α·ε)/α at the last σ
                    float sigma = s.sigmas()[ts.length - 1];
                    float a = 1f / (float) Math.sqrt(sigma * sigma + 1f);
                    for (int i = 0; i < 4; i++) {
                        float x0 = (before.data()[i] - sigma * a * eps.data()[i]) / a;
                        assertThat(x.data()[i]).isCloseTo(x0, org.assertj.core.data.Offset.offset(1e-5f));
                    }
                }
            }
        }
        assertThatThrownBy(() -> new DpmSolverMultistepSampler(SchedulerConfig.parse("{\"final_sigmas_type\": \"denoise_to_zero\"}"), 10))
                .hasMessageContaining("final_sigmas_type").hasMessageContaining("denoise_to_zero");
    }

    @Test
    void namedSchedulesAndKindNames() {
        SchedulerConfig pndmCfg = SchedulerConfig.parse("{\"_class_name\": \"PNDMScheduler\", \"beta_schedule\": \"scaled_linear\", \"skip_prk_steps\": true}");
        NamedSchedule.Choice d = NamedSchedule.DEFAULT.choose(pndmCfg, false);
        assertThat(d.kind()).isEqualTo(SamplerKind.PNDM);
        assertThat(d.steps()).isEqualTo(50);
        assertThat(d.create().numSteps()).isEqualTo(51);
        NamedSchedule.Choice eight = NamedSchedule.parse("8-step").choose(pndmCfg, false);
        assertThat(eight.kind()).isEqualTo(SamplerKind.DDIM);
        Sampler s8 = eight.create();
        assertThat(s8.timesteps()).containsExactly(999, 874, 749, 624, 499, 374, 249, 124);
        assertThat(NamedSchedule.EIGHT_STEP.choose(pndmCfg, true).kind()).isEqualTo(SamplerKind.LCM);
        assertThat(NamedSchedule.parse("1-step").choose(pndmCfg, false).create().timesteps()).containsExactly(999f);
        NamedSchedule.Choice lcmOne = NamedSchedule.ONE_STEP.choose(pndmCfg, true);
        assertThat(lcmOne.kind()).isEqualTo(SamplerKind.LCM);
        assertThat(lcmOne.create().timesteps()).containsExactly(999f);
        assertThat(SamplerKind.parse("EulerAncestralDiscreteScheduler")).isEqualTo(SamplerKind.EULER_ANCESTRAL);
        assertThat(SamplerKind.parse("dpm++2m")).isEqualTo(SamplerKind.DPMPP_2M);
        assertThatThrownBy(() -> SamplerKind.parse("heun")).hasMessageContaining("heun");
        SamplingDefaults sd = SamplingDefaults.fromJson(SchedulerConfig.jsonMapper().createObjectNode()
                .put("sampler", "lcm").put("steps", 4).put("guidance", 1.0));
        assertThat(sd.sampler()).isEqualTo(SamplerKind.LCM);
        assertThat(sd.steps()).isEqualTo(4);
        assertThat(sd.orElse(new SamplingDefaults(SamplerKind.PNDM, 50, 7.5f, PredictionType.EPSILON)).predictionType())
                .isEqualTo(PredictionType.EPSILON);
    }

    @Test
    void numpyHelpersMatchNumpyConventions() {
        assertThat(NumpyMath.linspace(0, 999, 8, true)[7]).isEqualTo(999.0);
        assertThat(NumpyMath.linspace(0, 50, 4, false)).containsExactly(0, 12.5, 25, 37.5);
        assertThat(NumpyMath.linspace(3, 7, 1, true)).containsExactly(3.0);
        assertThat(NumpyMath.arange(1000, 0, -125)).hasSize(8);
        assertThat(NumpyMath.arange(1000, 0, -1000.0 / 3)).hasSize(3);
        assertThat(NumpyMath.round(2.5)).isEqualTo(2.0);
        assertThat(NumpyMath.round(499.5)).isEqualTo(500.0);
        double[] xp = {0, 1, 2}, fp = {1, 3, 7};
        assertThat(NumpyMath.interp(1.5, xp, fp)).isEqualTo(5.0);
        assertThat(NumpyMath.interp(-1, xp, fp)).isEqualTo(1.0);
        assertThat(NumpyMath.interp(5, xp, fp)).isEqualTo(7.0);
        assertThat(new DdimSampler(SD1.withTimestepSpacing(TimestepSpacing.LINSPACE), 3).timesteps()).containsExactly(999f, 500f, 0f);
    }
}
