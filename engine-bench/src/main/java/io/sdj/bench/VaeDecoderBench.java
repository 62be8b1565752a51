package io.sdj.bench;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.vae.AutoencoderKL;
import io.sdj.models.vae.RandomWeights;
import io.sdj.models.vae.VaeConfig;
import io.sdj.models.vae.VaeParameterShapes;
import io.sdj.models.vae.VaeTiling;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.util.Collection;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One SD VAE decode (SD topology from the bundled {@code sd-vae.json}: block_out_channels [128, 256, 512, 512],
 * 2 layers per block, 32 groups; deterministic synthetic weights) of a batch-1 latent of {@code size}² (64 → 512²
 * image, ≈ 2515 GFLOP). Each measured iteration is one decode (single shot: one decode takes seconds). At 64² the
 * workspace holds ≈ 1.35 GB of activation buffers, hence {@code -Xmx4g}; an untiled 128² latent (1024²) needs about
 * 4× that: give it {@code -jvmArgsAppend -Xmx12g}. {@code -p tiling=on} decodes in diffusers' 64-latent tiles.
 * <p>Run through {@link #main} for GFLOP/s beside the times:
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp engine-bench/target/benchmarks.jar
 * io.sdj.bench.VaeDecoderBench [JMH options, e.g. -p size=32]}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class VaeDecoderBench {
    @Param({"64"})
    public int size;

    /** "off": one untiled decode; "on": diffusers' tiling with the SD VAE's default 512-pixel (64-latent) tiles. */
    @Param({"off"})
    public String tiling;

    private AutoencoderKL vae;
    private Workspace ws;
    private Tensor latents;

    @Setup(Level.Trial)
    public void setup() {
        VaeConfig config = VaeConfig.stableDiffusion();
        try (RandomWeights w = new RandomWeights(VaeParameterShapes.decoderOnly(config), 1234, "synthetic SD VAE decoder")) {
            vae = AutoencoderKL.load(config, w); // the ops keep packed copies, so the generated weights can go
        }
        ws = new Workspace();
        latents = gaussian(7, 1, config.latentChannels(), size, size);
    }

    /** A tensor of standard-normal values from {@code seed}: the benchmarks' inputs (latents, text embeddings). */
    public static Tensor gaussian(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.numel(); i++) t.data()[i] = (float) r.nextGaussian();
        return t;
    }

    @Benchmark
    public float decode() {
        Tensor image = tiling.equals("on")
                ? vae.decode(ws, latents, VaeTiling.defaults(vae.config()), () -> { }, Trace.NONE)
                : vae.decode(ws, latents, Trace.NONE);
        float v = image.data()[0];
        ws.release(image);
        return v;
    }

    /** FLOPs of one decode at a latent of size² (batch 1), from the model's own cost walk. */
    static double gflop(int size) {
        VaeConfig config = VaeConfig.stableDiffusion();
        try (RandomWeights w = new RandomWeights(VaeParameterShapes.decoderOnly(config), 1, "cost only")) {
            return AutoencoderKL.load(config, w).decoderFlops(1, size, size) / 1e9;
        }
    }

    public static void main(String[] args) throws Exception {
        report(args, VaeDecoderBench.class, VaeDecoderBench::gflop);
    }

    /** Runs JMH (command-line options accepted) and prints median ms and GFLOP/s per size. */
    static void report(String[] args, Class<?> bench, java.util.function.IntToDoubleFunction gflopAt) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args.length == 0 ? new String[] {bench.getSimpleName()} : args);
        Collection<RunResult> results = new Runner(cli).run();
        System.out.println();
        System.out.println("benchmark            size      GFLOP  median ms   GFLOP/s");
        for (RunResult r : results) {
            int s = Integer.parseInt(r.getParams().getParam("size"));
            double gflop = gflopAt.applyAsDouble(s);
            double ms = r.getPrimaryResult().getStatistics().getPercentile(50);
            System.out.printf("%-18s %6d %10.1f %10.1f %9.1f%n", bench.getSimpleName(), s, gflop, ms, gflop / (ms / 1000));
        }
    }
}
