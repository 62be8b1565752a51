package io.sdj.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.clip.ClipTextConfig;
import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.clip.ClipTextOutput;
import io.sdj.models.vae.RandomWeights;
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
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

import java.util.Collection;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One forward of Stable Diffusion 1.x's CLIP text encoder (ViT-L/14 text tower: hidden 768, 12 layers, 12 heads,
 * intermediate 3072, quick_gelu, 77 tokens; deterministic synthetic weights off-heap) on {@code batch} prompts
 * (2 = the [negative, positive] rows of classifier-free guidance). 13.30 GFLOP per prompt
 * ({@link SyntheticTextEncoder#flops}); each measured iteration prints its GFLOP/s, and {@link #main} prints a table.
 * <p>{@code java --add-modules jdk.incubator.vector -jar engine-bench/target/benchmarks.jar TextEncoderBench}
 * or, for the GFLOP/s table, {@code java --add-modules jdk.incubator.vector -cp engine-bench/target/benchmarks.jar
 * io.sdj.bench.TextEncoderBench [JMH options, e.g. -p batch=1]}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g",
        "-XX:MaxDirectMemorySize=4g"})
public class TextEncoderBench {
    @Param({"1", "2"})
    public int batch;

    private RandomWeights weights;
    private ClipTextModel encoder;
    private Workspace ws;
    private int[][] ids;
    private long calls, nanos;

    @Setup(Level.Trial)
    public void setup() {
        JsonNode config = SyntheticTextEncoder.vitL14Config();
        weights = SyntheticTextEncoder.weights(config, 1234);   // stays open: the encoder reads token rows from it
        encoder = ClipTextModel.load(config, weights);
        ws = new Workspace();
        ids = tokenRows(batch, encoder.config());
        System.out.printf("%nCLIP ViT-L/14 text encoder, batch %d: %.2f GFLOP per forward%n", batch, gflop(batch));
    }

    /** Prompt-like rows: BOS, 20 random ids, EOS, then EOS padding to 77 (as SD's tokenizer pads). */
    static int[][] tokenRows(int batch, ClipTextConfig c) {
        SplittableRandom r = new SplittableRandom(42);
        int[][] rows = new int[batch][c.maxPositionEmbeddings()];
        for (int[] row : rows) {
            java.util.Arrays.fill(row, 49407);
            row[0] = 49406;
            for (int i = 1; i <= 20; i++) row[i] = r.nextInt(49406);
        }
        return rows;
    }

    static double gflop(int batch) {
        return SyntheticTextEncoder.flops(ClipTextConfig.fromJson(SyntheticTextEncoder.vitL14Config()), batch, 77) / 1e9;
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        calls = 0;
        nanos = 0;
    }

    @Benchmark
    public float forward() {
        long t0 = System.nanoTime();
        ClipTextOutput out = encoder.forward(ws, ids, Trace.NONE);
        nanos += System.nanoTime() - t0;
        calls++;
        return out.lastHiddenState().data()[0];
    }

    @TearDown(Level.Iteration)
    public void reportIteration(IterationParams it) {
        if (it.getType() == IterationType.MEASUREMENT && calls > 0) {
            double ms = nanos / 1e6 / calls;
            System.out.printf("  [%d forwards: %.1f ms/forward, %.1f GFLOP/s]", calls, ms, gflop(batch) / (ms / 1000));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        weights.close();
    }

    /** Runs the benchmark (command-line JMH options accepted) and prints median ms and GFLOP/s per batch. */
    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args.length == 0 ? new String[]{TextEncoderBench.class.getSimpleName()} : args);
        Collection<RunResult> results = new Runner(cli).run();
        System.out.println();
        System.out.println("batch      GFLOP  median ms/forward   GFLOP/s");
        for (RunResult r : results) {
            int b = Integer.parseInt(r.getParams().getParam("batch"));
            double ms = r.getPrimaryResult().getStatistics().getPercentile(50);
            System.out.printf("%5d %10.2f %18.1f %9.1f%n", b, gflop(b), ms, gflop(b) / (ms / 1000));
        }
    }
}
