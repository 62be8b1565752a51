package io.sdj.bench;

import io.sdj.core.DType;
import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.ops.ConvAlgorithm;
import io.sdj.ops.KernelVariant;
import io.sdj.weights.ModelSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What keeping F16/BF16 weights 16-bit in the packed matrices costs: the same work with the weights packed as float32
 * (A) and as 16-bit, widened in the kernels (B), timed interleaved in one JVM (A B B A per round, so drift and other
 * load hit both alike); prints each round's B ÷ A and the median. Cases:
 * <ul>
 * <li>{@code gemm:MxNxK} — {@link KernelCase#gemm} with F32 vs F16 weights;</li>
 * <li>{@code conv:cin-cout-k-stride@HxW} — a direct convolution ({@link KernelCase#conv}), F32 vs F16 weights;</li>
 * <li>{@code unet:FILE:LATENT} — the UNet of an sdj file with F16/BF16 weights at a LATENT² latent, 77 context tokens:
 *     A = every 16-bit tensor widened to F32 before the model packs it (the old packing), B = the file as it is.</li>
 * </ul>
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:MaxDirectMemorySize=16g
 * -cp engine-bench/target/benchmarks.jar io.sdj.bench.HalfWeightsAB [-Drounds=5] [-Dthreads=2] CASE...}
 */
public final class HalfWeightsAB {
    private HalfWeightsAB() {}

    public static void main(String[] args) {
        int rounds = Integer.getInteger("rounds", 5);
        Parallel.setThreads(Integer.getInteger("threads", Parallel.threads()));
        System.out.println("kernel variant " + KernelVariant.describe() + ", " + Parallel.threads() + " threads, " + rounds + " rounds");
        for (String c : args) {
            Runnable[] ab = build(c);
            for (int i = 0; i < 2; i++) { ab[0].run(); ab[1].run(); }   // warm-up
            double[] ratio = new double[rounds];
            double[] ta = new double[rounds], tb = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                double a1 = time(ab[0]), b1 = time(ab[1]), b2 = time(ab[1]), a2 = time(ab[0]);
                ta[r] = (a1 + a2) / 2;
                tb[r] = (b1 + b2) / 2;
                ratio[r] = tb[r] / ta[r];
            }
            System.out.printf(Locale.ROOT, "%-40s f32 %9.2f ms  16-bit %9.2f ms  16-bit/f32 median %.3f  rounds %s%n", c,
                    median(ta), median(tb), median(ratio), Arrays.toString(Arrays.stream(ratio).map(x -> Math.round(x * 1000) / 1000.0).toArray()));
        }
    }

    private static double time(Runnable op) {
        long t0 = System.nanoTime();
        op.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static Runnable[] build(String c) {
        String[] p = c.split(":");
        return switch (p[0]) {
            case "gemm" -> new Runnable[]{KernelCase.gemm(p[1], DType.F32).factory().get(), KernelCase.gemm(p[1], DType.F16).factory().get()};
            case "conv" -> new Runnable[]{KernelCase.conv(p[1], ConvAlgorithm.DIRECT, DType.F32).factory().get(),
                    KernelCase.conv(p[1], ConvAlgorithm.DIRECT, DType.F16).factory().get()};
            case "unet" -> unet(Path.of(p[1]), Integer.parseInt(p[2]));
            default -> throw new IllegalArgumentException("case must be gemm:SHAPE, conv:SHAPE or unet:FILE:LATENT, got '" + c + "'");
        };
    }

    private static Runnable[] unet(Path file, int latent) {
        ModelSource src = ModelSource.open(file);
        WeightSource half = src.weights("unet");
        UNet2DConditionModel b = UNet2DConditionModel.load(src.config("unet"), half);
        UNet2DConditionModel a = UNet2DConditionModel.load(src.config("unet"), widened(half));
        System.gc();
        Tensor sample = VaeDecoderBench.gaussian(1, 1, 4, latent, latent), context = VaeDecoderBench.gaussian(2, 1, 77, a.config().crossAttentionDim()[0]);
        List<Runnable> ops = new ArrayList<>();
        for (UNet2DConditionModel u : new UNet2DConditionModel[]{a, b}) {
            Workspace ws = new Workspace();
            ops.add(() -> ws.release(u.forward(ws, sample, new float[]{999}, context, null, Trace.NONE)));
        }
        return ops.toArray(Runnable[]::new);
    }

    /** The weights with every F16/BF16 tensor widened to a F32 one (the same values). */
    private static WeightSource widened(WeightSource w) {
        return new WeightSource() {
            @Override public WeightTensor get(String name) {
                WeightTensor t = w.get(name);
                if (t.dtype() != DType.F16 && t.dtype() != DType.BF16) return t;
                float[] v = t.toFloats();
                MemorySegment seg = Arena.ofAuto().allocate(4L * v.length, 64);
                MemorySegment.copy(v, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, v.length);
                return new WeightTensor(t.name(), DType.F32, t.shape(), seg, null);
            }
            @Override public boolean contains(String name) { return w.contains(name); }
            @Override public Set<String> names() { return w.names(); }
            @Override public String origin() { return w.origin() + " widened to F32"; }
        };
    }

}
