package io.sdj.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.DType;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.clip.ClipTextOutput;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * One CLIP text encoder forward (77 tokens) at the sizes Stable Diffusion uses: {@code sd15} = CLIP ViT-L/14 text
 * tower (768 wide, 12 layers, 12 heads, quick_gelu), {@code sd2} = OpenCLIP ViT-H/14 text tower (1024 wide, 23 of its
 * 24 layers as SD 2 runs it, 16 heads, gelu). Random off-heap weights; batch 2 is what a CFG run encodes.
 * <p>{@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp engine-bench/target/benchmarks.jar
 * io.sdj.bench.ClipTextBench} prints GFLOP/s beside the times.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g",
        "-XX:MaxDirectMemorySize=4g"})
public class ClipTextBench {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int TOKENS = 77, VOCAB = 49408;

    @Param({"sd15", "sd2"})
    public String config;

    @Param({"1", "2"})
    public int batch;

    private ClipTextModel model;
    private Workspace ws;
    private int[][] ids;

    /** hidden, layers, heads, intermediate. */
    static int[] shape(String config) {
        return switch (config) {
            case "sd15" -> new int[]{768, 12, 12, 3072};
            case "sd2" -> new int[]{1024, 23, 16, 4096};
            default -> throw new IllegalArgumentException("unknown text encoder config '" + config + "' (sd15, sd2)");
        };
    }

    @Setup(Level.Trial)
    public void setup() {
        int[] s = shape(config);
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("vocab_size", VOCAB).put("hidden_size", s[0]).put("num_hidden_layers", s[1]).put("num_attention_heads", s[2])
                .put("intermediate_size", s[3]).put("max_position_embeddings", TOKENS)
                .put("hidden_act", config.equals("sd15") ? "quick_gelu" : "gelu");
        model = ClipTextModel.load(c, weights(s[0], s[1], s[3]));
        ws = new Workspace();
        SplittableRandom r = new SplittableRandom(7);
        ids = new int[batch][TOKENS];
        for (int[] row : ids) {
            row[0] = 49406;
            for (int t = 1; t < 20; t++) row[t] = r.nextInt(49000);
            for (int t = 20; t < TOKENS; t++) row[t] = 49407;
        }
        System.gc();
    }

    @Benchmark
    public float forward() {
        ClipTextOutput o = model.forward(ws, ids, Trace.NONE);
        return o.lastHiddenState().data()[0];
    }

    /** Multiply-adds × 2 of one forward: projections, MLP, causal attention (QKᵀ and AV over the visible keys). */
    static double flops(String config, int batch) {
        int[] s = shape(config);
        double h = s[0], f = s[3], t = TOKENS;
        double perLayer = 2 * t * h * 4 * h + 2 * t * h * f * 2 + 2 * 2 * h * t * (t + 1) / 2;
        return batch * s[1] * perLayer;
    }

    private static WeightSource weights(int h, int layers, int ff) {
        Map<String, WeightTensor> m = new TreeMap<>();
        SplittableRandom r = new SplittableRandom(1234);
        put(m, r, "text_model.embeddings.token_embedding.weight", VOCAB, h);
        put(m, r, "text_model.embeddings.position_embedding.weight", TOKENS, h);
        for (int i = 0; i < layers; i++) {
            String p = "text_model.encoder.layers." + i + ".";
            for (String proj : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
                put(m, r, p + "self_attn." + proj + ".weight", h, h);
                put(m, r, p + "self_attn." + proj + ".bias", h);
            }
            for (String ln : new String[]{"layer_norm1", "layer_norm2"}) {
                put(m, r, p + ln + ".weight", h);
                put(m, r, p + ln + ".bias", h);
            }
            put(m, r, p + "mlp.fc1.weight", ff, h);
            put(m, r, p + "mlp.fc1.bias", ff);
            put(m, r, p + "mlp.fc2.weight", h, ff);
            put(m, r, p + "mlp.fc2.bias", h);
        }
        put(m, r, "text_model.final_layer_norm.weight", h);
        put(m, r, "text_model.final_layer_norm.bias", h);
        return new WeightSource() {
            @Override public WeightTensor get(String name) {
                WeightTensor t = m.get(name);
                if (t == null) throw new IllegalArgumentException("no weight " + name);
                return t;
            }
            @Override public boolean contains(String name) { return m.containsKey(name); }
            @Override public Set<String> names() { return m.keySet(); }
        };
    }

    private static void put(Map<String, WeightTensor> m, SplittableRandom r, String name, int... shape) {
        long n = Tensor.numel(shape);
        MemorySegment seg = Arena.ofAuto().allocate(n * 4, 64);
        float a = shape.length == 1 ? (name.endsWith("weight") ? 0.1f : 0.02f) : (float) Math.sqrt(3.0 / shape[shape.length - 1]);
        float center = shape.length == 1 && name.endsWith("weight") ? 1f : 0f;
        for (long i = 0; i < n; i++) seg.setAtIndex(F32, i, center + a * (float) (2 * r.nextDouble() - 1));
        m.put(name, new WeightTensor(name, DType.F32, shape, seg, null));
    }

    /** Runs the benchmark (command-line JMH options accepted) and prints GFLOP/s per parameter set. */
    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args.length == 0 ? new String[]{ClipTextBench.class.getSimpleName()} : args);
        var results = new Runner(cli).run();
        System.out.println();
        System.out.println("config batch      GFLOP   ms/forward   GFLOP/s");
        for (RunResult res : results) {
            String cfg = res.getParams().getParam("config");
            int b = Integer.parseInt(res.getParams().getParam("batch"));
            double gflop = flops(cfg, b) / 1e9, ms = res.getPrimaryResult().getScore();
            System.out.printf("%-6s %5d %10.2f %12.1f %9.1f%n", cfg, b, gflop, ms, gflop / (ms / 1000));
        }
    }
}
