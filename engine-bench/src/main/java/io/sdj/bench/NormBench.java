package io.sdj.bench;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Elementwise;
import io.sdj.ops.GroupNorm;
import io.sdj.ops.LayerNorm;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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

/**
 * GroupNorm (32 groups, eps 1e-5, optional fused SiLU) at the SD 1.5 UNet activations for a 64×64 latent
 * (320@64², 640@32², 1280@16²) and LayerNorm over 320/640/1280 channels of the matching token counts.
 * Traffic per call counted as one read + one write of the tensor (8 bytes per element):
 * GB/s = 8·numel / time. Run: {@code java --add-modules jdk.incubator.vector -jar benchmarks.jar NormBench}
 * <p>A resnet block's second norm, SiLU(GroupNorm(h + t[:, :, None, None])) with t its projected time embedding:
 * {@code addShiftThenGroupNormSilu} adds t in a pass of its own first (as the block did), {@code groupNormSiluOfShifted}
 * adds it inside the norm's passes. Both flip t's sign after each call (C floats), so the in-place add does not drift.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class NormBench {
    /** channels x side (tokens = side²). */
    @Param({"320x64", "640x32", "1280x16"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    Workspace ws;
    GroupNorm gn;
    LayerNorm ln;
    Tensor image, tokens, shift;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        int c = Integer.parseInt(p[0]), side = Integer.parseInt(p[1]);
        Random rnd = new Random(1);
        image = AttentionBench.random(rnd, 1, c, side, side);
        tokens = image.reshape(1, side * side, c);
        float[] g = new float[c], b = new float[c];
        for (int i = 0; i < c; i++) { g[i] = 1 + 0.1f * (float) rnd.nextGaussian(); b[i] = 0.1f * (float) rnd.nextGaussian(); }
        gn = new GroupNorm(WeightTensor.ofFloats("norm.weight", g, c), WeightTensor.ofFloats("norm.bias", b, c), 32, 1e-5f);
        ln = new LayerNorm(WeightTensor.ofFloats("norm.weight", g, c), WeightTensor.ofFloats("norm.bias", b, c), 1e-5f);
        float[] t = new float[c];
        for (int i = 0; i < c; i++) t[i] = 0.5f * (float) rnd.nextGaussian();
        shift = Tensor.of(t, 1, c);
        ws = new Workspace();
        Parallel.setThreads(threads);
    }

    @Benchmark
    public Tensor groupNorm() {
        Tensor y = gn.forward(ws, image, false);
        ws.release(y);
        return y;
    }

    @Benchmark
    public Tensor groupNormSilu() {
        Tensor y = gn.forward(ws, image, true);
        ws.release(y);
        return y;
    }

    @Benchmark
    public Tensor addShiftThenGroupNormSilu() {
        Elementwise.addChannelBiasInPlace(image, shift);
        Tensor y = gn.forward(ws, image, true);
        ws.release(y);
        Elementwise.scaleInPlace(shift, -1f);
        return y;
    }

    @Benchmark
    public Tensor groupNormSiluOfShifted() {
        Tensor y = gn.forward(ws, image, shift, true);
        ws.release(y);
        Elementwise.scaleInPlace(shift, -1f);
        return y;
    }

    @Benchmark
    public Tensor layerNorm() {
        Tensor y = ln.forward(ws, tokens);
        ws.release(y);
        return y;
    }
}
