package io.sdj.bench;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Architecture;
import io.sdj.models.Trace;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.clip.ClipTextConfig;
import io.sdj.models.pipeline.DecoderKind;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.Timings;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.NamedSchedule;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.unet.UNetCost;
import io.sdj.models.vae.AutoencoderKL;
import io.sdj.models.vae.RandomWeights;
import io.sdj.models.vae.VaeConfig;
import io.sdj.models.vae.VaeParameterShapes;
import io.sdj.ops.Gemm;
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
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The papers' comparison on this CPU: every bundled architecture ({@link Architecture}: SD 1.5, BK-SDM Base/Small/Tiny,
 * SnapFusion, MobileDiffusion, MobileDiffusion-Lite UNets; SD VAE, SnapFusion's 50% decoder, TAESD) at full size
 * with deterministic synthetic weights, each measured iteration one single-shot run.
 * <ul>
 * <li>{@code mode=evaluate}: one UNet evaluation at a {@code size}/8 latent (77 text tokens; batch 1, or 2 with
 *     {@code cfg} &gt; 1 as a guided step evaluates it), or one decode of a batch-1 latent to a {@code size}² image.</li>
 * <li>{@code mode=1-step} / {@code 8-step}: a whole {@code size}² image through {@link Txt2Img} (the public API
 *     {@code sdj generate} uses) — SD 1.x's ViT-L text encoder, the architecture's UNet, TAESD — with the named
 *     schedule; {@code cfg} 1 runs the UNet at batch 1, {@code cfg} 7.5 at batch 2 (classifier-free guidance). UNet
 *     architectures only.</li>
 * </ul>
 * Run through {@link #main} (or {@code ./sdj jmh ArchitecturesBench -p arch=... -p mode=...}; {@code main} adds a
 * table with GFLOP, median seconds, GFLOP/s and the machine): {@code java --add-modules jdk.incubator.vector
 * --enable-native-access=ALL-UNNAMED -cp engine-bench/target/benchmarks.jar io.sdj.bench.ArchitecturesBench -p arch=taesd}.
 * SD 1.5's UNet packs 3.4 GB of weights off-heap (hence {@code MaxDirectMemorySize}); the SD VAE's workspace at 512²
 * is about 1.4 GB.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g",
        "-XX:MaxDirectMemorySize=8g"})
public class ArchitecturesBench {
    @Param({"sd15", "bk-sdm-base", "bk-sdm-small", "bk-sdm-tiny", "snapfusion", "mobilediffusion", "mobilediffusion-lite",
            "sd-vae", "snapfusion-decoder", "taesd"})
    public String arch;

    @Param({"evaluate"})
    public String mode;

    @Param({"512"})
    public int size;

    @Param({"1"})
    public float cfg;

    private Workspace ws;
    private Tensor input, context;
    private float[] timesteps;
    private UNet2DConditionModel unet;
    private AutoencoderKL vae;
    private TaesdDecoder taesd;
    private Txt2Img txt2img;
    private NamedSchedule schedule;
    private long seed = 1;
    private GenerationResult last;

    @Setup(Level.Trial)
    public void setup() {
        Architecture a = Architecture.named(arch);
        if (size < 8 || size % 8 != 0) throw new IllegalArgumentException("size must be a positive multiple of 8, got " + size);
        if (!(cfg >= 1)) throw new IllegalArgumentException("cfg must be ≥ 1, got " + cfg);
        int latent = size / 8, batch = cfg > 1 ? 2 : 1;
        ws = new Workspace();
        long t0 = System.nanoTime();
        if (!mode.equals("evaluate")) {
            if (!a.isUNet()) throw new IllegalArgumentException("mode " + mode + " generates images: give a UNet architecture, not " + arch);
            schedule = NamedSchedule.parse(mode);
            txt2img = new SyntheticPipelineModel("synthetic-" + arch, 1234, SyntheticTextEncoder.vitL14Config(),
                    UNetConfig.bundled(a.resource()), null, true).open();
        } else {
            switch (a.component()) {
                case UNET -> {
                    unet = UNet2DConditionModel.load(UNetConfig.bundled(a.resource()), new SyntheticWeights(1234));
                    UNetConfig c = unet.config();
                    input = VaeDecoderBench.gaussian(1, batch, c.inChannels(), latent, latent);
                    context = VaeDecoderBench.gaussian(2, batch, 77, c.crossAttentionDim()[c.numBlocks() - 1]);
                    timesteps = new float[batch];
                    for (int i = 0; i < batch; i++) timesteps[i] = 999 - 400 * i;
                }
                case VAE_DECODER -> {
                    VaeConfig c = a.vaeConfig();
                    try (RandomWeights w = new RandomWeights(VaeParameterShapes.decoderOnly(c), 1234, "synthetic " + arch)) {
                        vae = AutoencoderKL.load(c, w);
                    }
                    input = VaeDecoderBench.gaussian(7, 1, c.latentChannels(), latent, latent);
                }
                case TAESD_DECODER -> {
                    try (RandomWeights w = new RandomWeights(TaesdDecoder.parameterShapes(4), 1234, "synthetic TAESD decoder")) {
                        taesd = TaesdDecoder.load(w);
                    }
                    input = VaeDecoderBench.gaussian(7, 1, 4, latent, latent);
                }
            }
        }
        System.gc();   // generated weight bytes are garbage once the model holds its packed copy
        System.out.printf(Locale.ROOT, "%n%s %s at %d², cfg %.1f: built in %.1f s, %.1f GFLOP per %s; %s%n", arch, mode, size, cfg,
                (System.nanoTime() - t0) / 1e9, gflop(arch, mode, size, cfg), mode.equals("evaluate") ? "evaluation" : "image", machine());
    }

    @Benchmark
    public float run() {
        if (txt2img != null) {
            last = txt2img.request().prompt(GenerationBench.PROMPT).negativePrompt("").schedule(schedule).guidance(cfg)
                    .seed(seed++).size(size, size).decoder(DecoderKind.TAESD).generate();
            return last.images().get(0).pixel(0, 0);
        }
        Tensor out = unet != null ? unet.forward(ws, input, timesteps, context, null, Trace.NONE)
                : vae != null ? vae.decode(ws, input, Trace.NONE) : taesd.forward(ws, input, Trace.NONE);
        float v = out.data()[0];
        ws.release(out);
        return v;
    }

    @TearDown(Level.Iteration)
    public void reportIteration() {
        if (last == null) return;
        Timings t = last.timings();
        System.out.printf(Locale.ROOT, "  [text encoder %.0f ms | %d UNet step%s, median %.0f ms | TAESD %.0f ms]", t.textEncoderNanos() / 1e6,
                t.stepNanos().length, t.stepNanos().length == 1 ? "" : "s", t.medianSecondsPerStep() * 1e3, t.decoderNanos() / 1e6);
        last = null;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        if (txt2img != null) txt2img.close();
    }

    /**
     * FLOPs (2 × multiply-adds, counted from the configs) of one measured iteration: an evaluation (UNet at batch 2
     * when cfg &gt; 1), or a whole image (text encoder, every UNet step, TAESD).
     */
    static double gflop(String arch, String mode, int size, float cfg) {
        Architecture a = Architecture.named(arch);
        int latent = size / 8, batch = cfg > 1 ? 2 : 1;
        if (mode.equals("evaluate")) return (a.isUNet() ? batch : 1) * a.flops(latent, latent) / 1e9;
        int steps = NamedSchedule.parse(mode) == NamedSchedule.ONE_STEP ? 1 : 8;
        return SyntheticTextEncoder.flops(ClipTextConfig.fromJson(SyntheticTextEncoder.vitL14Config()), batch, 77) / 1e9
                + steps * UNetCost.flops(a.unetConfig(), batch, latent, latent, 77) / 1e9
                + TaesdDecoder.flops(4, 1, latent, latent) / 1e9;
    }

    /** CPU model, the GEMM's vector width, threads, and the date: what every number needs beside it. */
    static String machine() {
        String cpu = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: leave the CPU unnamed
        }
        return String.format(Locale.ROOT, "%s, %d-bit vectors, %d threads, %s", cpu, Gemm.panelWidth() * 16, Parallel.threads(),
                OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")));
    }

    /** Runs the benchmark (command-line JMH options accepted) and prints median seconds, GFLOP and GFLOP/s per run. */
    public static void main(String[] args) throws Exception {
        String[] all = new String[args.length + 1];           // only this benchmark, whatever options follow
        all[0] = ArchitecturesBench.class.getSimpleName();
        System.arraycopy(args, 0, all, 1, args.length);
        CommandLineOptions cli = new CommandLineOptions(all);
        Collection<RunResult> results = new Runner(cli).run();
        System.out.println();
        System.out.println("architecture          mode       size  cfg  parameters        GFLOP   median s   GFLOP/s");
        for (RunResult r : results) {
            var p = r.getParams();
            String name = p.getParam("arch"), m = p.getParam("mode");
            int s = Integer.parseInt(p.getParam("size"));
            float g = Float.parseFloat(p.getParam("cfg"));
            double gflop = gflop(name, m, s, g);
            double sec = r.getPrimaryResult().getStatistics().getPercentile(50) / 1000;
            System.out.printf(Locale.ROOT, "%-21s %-9s %5d %4.1f %,13d %10.1f %10.3f %9.1f%n", name, m, s, g,
                    Architecture.named(name).parameters(), gflop, sec, gflop / sec);
        }
        System.out.println("machine: " + machine() + " (threads as seen by the JMH host JVM; forks use the same -Dsdj.threads)");
    }
}
