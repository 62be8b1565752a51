package io.sdj.bench.peer;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.sdj.bench.FmaPeakBench;
import io.sdj.bench.VaeDecoderBench;
import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.blocks.SyntheticWeights;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.unet.UNetCost;
import io.sdj.models.verify.Comparison;
import io.sdj.models.verify.Tolerance;
import io.sdj.ops.TimestepEmbedding;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * One UNet evaluation in sdj and in ONNX Runtime, in the same process and the same minutes, on the same synthetic
 * weights: the model is exported with {@link UNetOnnxExport} (reused from {@code --dir} when present), both outputs are
 * compared once, both engines warmed up, then each round times ONNX Runtime's runs and then sdj's (medians), with the
 * FMA peak before and after.
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks.jar:onnxruntime.jar \
 *      io.sdj.bench.peer.UNetVsOnnxRuntime [--arch bk-sdm-tiny] [--latent 64] [--threads 2] [--runs 5] [--rounds 2] [--dir DIR]
 *      [--ort-profile PREFIX]
 * </pre>
 * {@code --ort-profile} has ONNX Runtime write its per-node timings (Chrome trace JSON, one event per node and run;
 * node names start with the upstream module path) to a file starting with PREFIX; profiling slows it a little.
 * ONNX Runtime gets every graph optimisation, {@code --threads} intra-op threads, sequential execution and its default
 * thread spinning; a pause of a second separates the two engines so that neither's idle workers spin into the other's
 * timing. {@code engine-bench/unet-vs-onnxruntime.sh} builds the class path.
 */
public final class UNetVsOnnxRuntime {
    /** The UNet golden cases' tolerance, printed beside the two engines' deviation (a wrong export would exceed it). */
    private static final Tolerance SAME_MODEL = new Tolerance(3e-4, 1e-4);

    public static void main(String[] args) throws Exception {
        String arch = "bk-sdm-tiny";
        int latent = 64, threads = Runtime.getRuntime().availableProcessors(), runs = 5, rounds = 2;
        Path dir = Path.of("target/onnx");
        String ortProfile = null;
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) throw new IllegalArgumentException("option " + args[i] + " needs a value");
            switch (args[i]) {
                case "--arch" -> arch = args[i + 1];
                case "--latent" -> latent = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--dir" -> dir = Path.of(args[i + 1]);
                case "--ort-profile" -> ortProfile = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (known: --arch --latent --threads --runs --rounds --dir --ort-profile)");
            }
        }
        Parallel.setThreads(threads);
        UNetConfig config = UNetConfig.fromJson(UNetConfig.bundled(arch));
        SyntheticWeights weights = new SyntheticWeights(1234);
        UNet2DConditionModel unet = UNet2DConditionModel.load(config, weights);
        Files.createDirectories(dir);
        Path model = dir.resolve(arch + ".onnx");
        if (!Files.exists(model)) {
            long t0 = System.nanoTime();
            UNetOnnxExport.write(config, weights, model);
            System.out.printf(Locale.ROOT, "exported %s (+ .data) in %.1f s%n", model, (System.nanoTime() - t0) / 1e9);
        } else {
            System.out.println("reusing " + model + " (same seed and config; delete it to export again)");
        }
        System.gc();

        int cross = config.crossAttentionDim()[0];
        Tensor sample = VaeDecoderBench.gaussian(1, 1, config.inChannels(), latent, latent);
        Tensor context = VaeDecoderBench.gaussian(2, 1, 77, cross);
        float[] timesteps = {999};
        Workspace ws = new Workspace();
        Tensor timeProj = TimestepEmbedding.sinusoidal(ws, timesteps, config.blockOutChannels()[0], config.flipSinToCos(), config.freqShift());
        Tensor cond = config.timeCondProjDim() == null ? null : VaeDecoderBench.gaussian(3, 1, config.timeCondProjDim());   // LCM's guidance embedding
        double gflop = UNetCost.flops(config, 1, latent, latent, 77) / 1e9;

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(threads);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (ortProfile != null) opts.enableProfiling(ortProfile);
            long t0 = System.nanoTime();
            try (OrtSession session = env.createSession(model.toString(), opts);
                 OnnxTensor xs = OnnxTensor.createTensor(env, FloatBuffer.wrap(sample.data()), longs(sample.shape()));
                 OnnxTensor tp = OnnxTensor.createTensor(env, FloatBuffer.wrap(timeProj.data()), longs(timeProj.shape()));
                 OnnxTensor ctx = OnnxTensor.createTensor(env, FloatBuffer.wrap(context.data()), longs(context.shape()));
                 OnnxTensor tc = cond == null ? null : OnnxTensor.createTensor(env, FloatBuffer.wrap(cond.data()), longs(cond.shape()))) {
                System.out.printf(Locale.ROOT, "ONNX Runtime %s session created in %.1f s%n", env.getVersion(), (System.nanoTime() - t0) / 1e9);
                Map<String, OnnxTensor> feed = cond == null ? Map.of("sample", xs, "time_proj", tp, "encoder_hidden_states", ctx)
                        : Map.of("sample", xs, "time_proj", tp, "encoder_hidden_states", ctx, "timestep_cond", tc);
                Runnable ort = () -> runOrt(session, feed);
                Runnable sdj = () -> ws.release(unet.forward(ws, sample, timesteps, context, cond, Trace.NONE));

                float[] ref = runOrt(session, feed);
                Tensor mine = unet.forward(ws, sample, timesteps, context, cond, Trace.NONE);
                System.out.println("outputs: " + Comparison.of("sdj vs ONNX Runtime", mine.data(), ref, SAME_MODEL));
                ws.release(mine);
                // warm both up before the first peak timing: C2 compiling sdj's forward took a core from it (SD 1.5:
                // 197 GFLOP/s before against 438 after on two threads)
                median(ort, 1);
                median(sdj, 2);
                Thread.sleep(1000);

                FmaPeakBench.Measured before = FmaPeakBench.measure(threads, 1000, 2000);
                System.out.printf(Locale.ROOT, "%s, %d×%d latent, batch 1, %d threads, %.1f GFLOP per evaluation; FMA peak %.1f GFLOP/s%n",
                        arch, latent, latent, threads, gflop, before.gflopPerSecond());
                double[] ratios = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    double ortMs = median(ort, runs);
                    Thread.sleep(1000);
                    double sdjMs = median(sdj, runs);
                    Thread.sleep(1000);
                    ratios[r] = ortMs / sdjMs;
                    System.out.printf(Locale.ROOT, "round %d: ONNX Runtime %.0f ms (%.1f GFLOP/s), sdj %.0f ms (%.1f GFLOP/s): sdj %.2f× ONNX Runtime's speed%n",
                            r + 1, ortMs, gflop / (ortMs / 1e3), sdjMs, gflop / (sdjMs / 1e3), ratios[r]);
                }
                FmaPeakBench.Measured after = FmaPeakBench.measure(threads, 1000, 2000);
                Arrays.sort(ratios);
                System.out.printf(Locale.ROOT, "FMA peak %.1f before, %.1f after; sdj ÷ ONNX Runtime speed %.2f–%.2f×%n",
                        before.gflopPerSecond(), after.gflopPerSecond(), ratios[0], ratios[rounds - 1]);
                if (ortProfile != null) System.out.println("ONNX Runtime's profile of every run: " + session.endProfiling());
            }
        }
    }

    private static float[] runOrt(OrtSession session, Map<String, OnnxTensor> feed) {
        try (OrtSession.Result r = session.run(feed)) {
            FloatBuffer b = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[b.remaining()];
            b.get(out);
            return out;
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime: " + e.getMessage(), e);
        }
    }

    /** One untimed run, then the median of {@code runs} timed ones (ms). */
    private static double median(Runnable op, int runs) {
        op.run();
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            op.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return runs % 2 == 1 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
    }

    private static long[] longs(int[] shape) { return Arrays.stream(shape).asLongStream().toArray(); }
}
