package io.sdj.bench;

import io.sdj.models.clip.ClipTextConfig;
import io.sdj.models.pipeline.DecoderKind;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.Timings;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.unet.UNetCost;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * End-to-end text-to-image generation (issue #5) through the public API users call —
 * {@code txt2img.request().prompt(..).schedule(..).guidance(..).size(..).decoder(..).generate()} — on BK-SDM-Tiny
 * with SD 1.x's ViT-L text encoder, the SD VAE and TAESD, all with deterministic synthetic weights
 * ({@link SyntheticPipelineModel}), assembled by the same {@code PipelineLoader} that loads real models.
 * <p>Parameters: image {@code size}² (256 → 32² latents, 512 → 64²), {@code schedule} ({@code 8-step}: DDIM trailing,
 * 8 UNet evaluations; {@code 1-step}: one evaluation), {@code decoder} ({@code vae} or {@code taesd}) and
 * {@code guidance}: {@code implied} means what each schedule is used with — 7.5 for 8-step (classifier-free guidance:
 * the text encoder and every UNet evaluation run on batch 2, [negative, positive]) and 1.0 for 1-step (no CFG, batch 1);
 * a number (e.g. {@code -p guidance=1}) overrides it for every schedule.
 * <p>Each measured iteration is one whole generation (single shot) and prints its breakdown from
 * {@link GenerationResult#timings()}: text encoder, UNet per step (UNet + sampler step; GFLOP/s of the UNet), decoder;
 * the trial ends with the medians. A 512² 8-step VAE generation takes about a minute on 2 busy cores.
 * <p>{@code java --add-modules jdk.incubator.vector -jar engine-bench/target/benchmarks.jar GenerationBench
 * [-p size=256 -p schedule=1-step -p decoder=taesd]}, or with {@code -cp ... io.sdj.bench.GenerationBench [same]} for a
 * closing table of all runs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g",
        "-XX:MaxDirectMemorySize=6g"})
public class GenerationBench {
    static final String PROMPT = "a photograph of an astronaut riding a horse on the moon, highly detailed";

    @Param({"256", "512"})
    public int size;

    @Param({"8-step", "1-step"})
    public String schedule;

    @Param({"vae", "taesd"})
    public String decoder;

    @Param({"implied"})
    public String guidance;

    private Txt2Img txt2img;
    private NamedSchedule namedSchedule;
    private DecoderKind decoderKind;
    private float cfg;
    private double unetGflopPerStep, textGflop, decoderGflop;
    private GenerationResult last;
    private final List<Timings> measured = new ArrayList<>();
    private long seed;

    /** The guidance scale a run uses: the schedule's usual one for {@code implied}, else the number given. */
    static float guidanceScale(String guidance, NamedSchedule schedule) {
        if (guidance.equals("implied")) return schedule == NamedSchedule.ONE_STEP ? 1.0f : 7.5f;
        try {
            return Float.parseFloat(guidance);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("guidance must be 'implied' or a number, got '" + guidance + "'");
        }
    }

    @Setup(Level.Trial)
    public void setup() {
        namedSchedule = NamedSchedule.parse(schedule);
        decoderKind = DecoderKind.parse(decoder);
        cfg = guidanceScale(guidance, namedSchedule);
        int rows = cfg > 1 ? 2 : 1;
        int latent = size / 8;
        unetGflopPerStep = UNetCost.flops(UNetConfig.fromJson(UNetConfig.bundled("bk-sdm-tiny")), rows, latent, latent, 77) / 1e9;
        textGflop = SyntheticTextEncoder.flops(ClipTextConfig.fromJson(SyntheticTextEncoder.vitL14Config()), rows, 77) / 1e9;
        decoderGflop = decoderGflop(decoderKind, latent);
        long t0 = System.nanoTime();
        txt2img = SyntheticPipelineModel.bkSdmTiny(1234).open();
        System.gc();   // the UNet's generated weights are garbage once packed
        System.out.printf("%nsynthetic BK-SDM-Tiny pipeline built in %.1f s; %d² %s, guidance %.1f (UNet batch %d), %s decoder; "
                        + "GFLOP: text encoder %.1f, UNet %.1f per step, decoder %.1f%n",
                (System.nanoTime() - t0) / 1e9, size, schedule, cfg, rows, decoder, textGflop, unetGflopPerStep, decoderGflop);
    }

    static double decoderGflop(DecoderKind kind, int latent) {
        return kind == DecoderKind.VAE ? VaeDecoderBench.gflop(latent) : TaesdDecoderBench.gflop(latent);
    }

    @Benchmark
    public GenerationResult generate() {
        last = txt2img.request()
                .prompt(PROMPT)
                .negativePrompt("")
                .schedule(namedSchedule)
                .guidance(cfg)
                .seed(seed++)
                .size(size, size)
                .decoder(decoderKind)
                .generate();
        return last;
    }

    @TearDown(Level.Iteration)
    public void reportIteration(IterationParams it) {
        if (last == null) return;
        Timings t = last.timings();
        if (it.getType() == IterationType.MEASUREMENT) measured.add(t);
        System.out.print("  " + breakdown(t.textEncoderNanos(), t.medianSecondsPerStep() * 1e9, t.stepNanos().length, t.decoderNanos()));
        last = null;
    }

    private String breakdown(double textNanos, double stepNanos, int steps, double decoderNanos) {
        return String.format("[text encoder %.0f ms (%.0f GFLOP/s) | %d UNet step%s, median %.0f ms/step (%.0f GFLOP/s) | decoder %.0f ms (%.0f GFLOP/s)]",
                textNanos / 1e6, textGflop / (textNanos / 1e9), steps, steps == 1 ? "" : "s", stepNanos / 1e6,
                unetGflopPerStep / (stepNanos / 1e9), decoderNanos / 1e6, decoderGflop / (decoderNanos / 1e9));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (!measured.isEmpty()) {
            double text = median(measured.stream().mapToDouble(Timings::textEncoderNanos).toArray());
            double step = median(measured.stream().mapToDouble(t -> t.medianSecondsPerStep() * 1e9).toArray());
            double dec = median(measured.stream().mapToDouble(Timings::decoderNanos).toArray());
            System.out.printf("%nmedian of %d generations: %s%n", measured.size(),
                    breakdown(text, step, measured.get(0).stepNanos().length, dec));
        }
        txt2img.close();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Runs the benchmark (command-line JMH options accepted) and prints a table of median seconds per generation. */
    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args.length == 0 ? new String[]{GenerationBench.class.getSimpleName()} : args);
        Collection<RunResult> results = new Runner(cli).run();
        System.out.println();
        System.out.println("size  schedule  guidance  decoder   UNet batch   total GFLOP   median s/image   GFLOP/s");
        for (RunResult r : results) {
            var p = r.getParams();
            int s = Integer.parseInt(p.getParam("size"));
            NamedSchedule sched = NamedSchedule.parse(p.getParam("schedule"));
            DecoderKind dec = DecoderKind.parse(p.getParam("decoder"));
            float g = guidanceScale(p.getParam("guidance"), sched);
            int rows = g > 1 ? 2 : 1, latent = s / 8, steps = sched == NamedSchedule.ONE_STEP ? 1 : 8;
            double gflop = SyntheticTextEncoder.flops(ClipTextConfig.fromJson(SyntheticTextEncoder.vitL14Config()), rows, 77) / 1e9
                    + steps * UNetCost.flops(UNetConfig.fromJson(UNetConfig.bundled("bk-sdm-tiny")), rows, latent, latent, 77) / 1e9
                    + decoderGflop(dec, latent);
            double sec = r.getPrimaryResult().getStatistics().getPercentile(50) / 1000;
            System.out.printf("%4d  %-8s  %8.1f  %-7s  %10d  %12.0f  %15.2f  %8.1f%n", s, sched.key(), g, dec.cliName(), rows, gflop, sec, gflop / sec);
        }
    }
}
