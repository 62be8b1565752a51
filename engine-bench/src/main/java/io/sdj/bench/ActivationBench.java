package io.sdj.bench;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.ops.Activation;
import io.sdj.ops.Activations;
import io.sdj.ops.Elementwise;
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
 * Activations and data movement at SD 1.5 shapes for a 64×64 latent: GEGLU on the feed-forward projection
 * [1, 4096, 2560] → [1, 4096, 1280] (element rate = 4096·1280 / time; traffic 12 bytes per output element),
 * SiLU / GELU in place on [1, 320, 64, 64] (1 310 720 elements, 8 bytes each), the NCHW → tokens transpose and the
 * 2× nearest upsample of [1, 1280, 16, 16] → 32², softmax over 77-wide rows (text encoder/cross-attention size).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ActivationBench {
    @Param({"1", "2"})
    public int threads;

    Workspace ws;
    Tensor ff, image, small, scores;

    @Setup(Level.Trial)
    public void setup() {
        Random rnd = new Random(1);
        ff = AttentionBench.random(rnd, 1, 4096, 2560);
        image = AttentionBench.random(rnd, 1, 320, 64, 64);
        small = AttentionBench.random(rnd, 1, 1280, 16, 16);
        scores = AttentionBench.random(rnd, 8 * 77, 77);
        ws = new Workspace();
        Parallel.setThreads(threads);
    }

    @Benchmark
    public Tensor geglu4096x2560() {
        Tensor y = Activations.geglu(ws, ff);
        ws.release(y);
        return y;
    }

    @Benchmark
    public Tensor silu320x64x64() {
        return Activations.applyInPlace(image, Activation.SILU);
    }

    @Benchmark
    public Tensor gelu320x64x64() {
        return Activations.applyInPlace(image, Activation.GELU);
    }

    @Benchmark
    public Tensor toTokens320x64x64() {
        Tensor y = Elementwise.toTokens(ws, image);
        ws.release(y);
        return y;
    }

    @Benchmark
    public Tensor upsample1280x16to32() {
        Tensor y = Elementwise.upsampleNearest(ws, small, 32, 32);
        ws.release(y);
        return y;
    }

    @Benchmark
    public Tensor softmax616x77() {
        return Elementwise.softmaxLastDimInPlace(scores);
    }
}
