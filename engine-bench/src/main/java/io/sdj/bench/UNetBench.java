package io.sdj.bench;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.unet.UNet2DConditionModel;
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
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.util.Collection;
import java.util.concurrent.TimeUnit;

/**
 * One full UNet evaluation (synthetic weights, 77 text tokens) for the SD 1.5 and BK-SDM-Tiny configs at 32² and 64²
 * latents, batch 1 and 2. Weights live off-heap (packed by Conv2d/Linear), so SD 1.5 runs with {@code -Xmx2g}; but
 * Arena-allocated memory counts against {@code -XX:MaxDirectMemorySize}, which defaults to the heap limit, so it must
 * be raised (SD 1.5 packs 3.4 GB of weights).
 * <p>Run through {@link #main} to get GFLOP/s beside the times (FLOPs from {@link UNetCost}):
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp engine-bench/target/benchmarks.jar
 * io.sdj.bench.UNetBench [JMH options, e.g. -p config=bk-sdm-tiny -p size=32]}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g",
        "-XX:MaxDirectMemorySize=8g"})
public class UNetBench {
    @Param({"sd15", "bk-sdm-tiny"})
    public String config;

    @Param({"32", "64"})
    public int size;

    @Param({"1", "2"})
    public int batch;

    private UNet2DConditionModel unet;
    private Workspace ws;
    private Tensor sample, context;
    private float[] timesteps;

    @Setup(Level.Trial)
    public void setup() {
        unet = UNet2DConditionModel.load(UNetConfig.bundled(config), new SyntheticWeights(1234));
        ws = new Workspace();
        sample = VaeDecoderBench.gaussian(1, batch, 4, size, size);
        context = VaeDecoderBench.gaussian(2, batch, 77, unet.config().crossAttentionDim()[0]);
        timesteps = new float[batch];
        for (int i = 0; i < batch; i++) timesteps[i] = 999 - 400 * i;
        System.gc();   // drop the generated weight bytes now that the model holds its packed copy
    }


    @Benchmark
    public float forward() {
        Tensor out = unet.forward(ws, sample, timesteps, context, null, Trace.NONE);
        float v = out.data()[0];
        ws.release(out);
        return v;
    }

    /** Runs the benchmark (command-line JMH options accepted) and prints GFLOP/s per parameter set. */
    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args.length == 0 ? new String[]{UNetBench.class.getSimpleName()} : args);
        Collection<RunResult> results = new Runner(cli).run();
        System.out.println();
        System.out.println("config        size batch      GFLOP    ms/forward   GFLOP/s");
        for (RunResult r : results) {
            var p = r.getParams();
            String cfg = p.getParam("config");
            int s = Integer.parseInt(p.getParam("size")), b = Integer.parseInt(p.getParam("batch"));
            double gflop = UNetCost.flops(UNetConfig.fromJson(UNetConfig.bundled(cfg)), b, s, s, 77) / 1e9;
            double ms = r.getPrimaryResult().getScore();
            System.out.printf("%-12s %5d %5d %10.1f %12.1f %9.1f%n", cfg, s, b, gflop, ms, gflop / (ms / 1000));
        }
    }
}
