package io.sdj.ops;

import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

import java.util.SplittableRandom;

/**
 * Runs every kind of kernel on small random inputs on a background thread, so that the JIT has compiled them before
 * a model's first real forward pass needs them.
 * <p>Why: a fresh JVM runs a Vector API kernel interpreted, then C1-compiled, until C2 compiles it, and until then
 * each vector operation is an object on the heap; a process's first image paid seconds for that (issue 10, "the first
 * image"). Loading a model keeps one thread busy packing weights while the other core mostly idles, so the kernels
 * are exercised there, during the load, and the real first pass starts on compiled code.
 * <p>The warm-up computes nothing anyone reads, touches no shared state but the JIT's, and runs its kernels on its own
 * thread only ({@link Parallel#callerOnly}), never on the worker threads; {@link #stop()} ends it between two kernels.
 * <p>Off unless {@code -Dsdj.warmup=true} (read at each {@link #start()}); {@code sdj generate}, a fresh process for
 * every command, turns it on. What the JIT makes of a kernel depends on what it saw first: C2 sizes a loop's unrolling
 * by the trip counts it profiled, and while this warm-up ran its GEMMs at K = 64 a warm MobileDiffusion-Lite UNet
 * evaluation measured 17–20% slower afterwards (0.85–0.94 s against 0.70–0.81 s). With the GEMMs at the real layers'
 * depth ({@link Kernels#DEEP}) it measured 0.69–0.74 s against 0.72 s without the warm-up (Intel Xeon, AVX-512,
 * 2026-12-06). That is one architecture measured, so a long-running process (a server, a Spark executor), which keeps
 * the steady state and loads once, still leaves it off by default.
 */
public final class KernelWarmup {
    /** Whether {@link #start()} starts anything ({@code -Dsdj.warmup}, default false). */
    static boolean enabled() { return Boolean.parseBoolean(System.getProperty("sdj.warmup", "false")); }
    /** Rounds over all kernels at most; the load usually ends it sooner. */
    private static final int MAX_ROUNDS = 40;

    private final Thread thread;
    private volatile boolean stopped;
    private volatile int rounds;

    private KernelWarmup(boolean run) {
        thread = run ? Thread.ofPlatform().daemon().name("sdj-kernel-warmup").unstarted(this::run) : null;
    }

    /** Starts warming up on a daemon thread when {@code -Dsdj.warmup=true}, else returns a handle that does nothing. */
    public static KernelWarmup start() {
        KernelWarmup w = new KernelWarmup(enabled());
        if (w.thread != null) {
            w.thread.setPriority(Thread.MIN_PRIORITY);
            w.thread.start();
        }
        return w;
    }

    /** Ends the warm-up after the kernel it is running and waits for that; returns the whole rounds it completed. */
    public int stop() {
        stopped = true;
        if (thread != null) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return rounds;
    }

    private void run() {
        try {
            Parallel.callerOnly(() -> {
                Kernels k = new Kernels(new SplittableRandom(1));
                for (int r = 0; r < MAX_ROUNDS && !stopped; r++) {
                    if (k.round(() -> stopped)) rounds++;
                }
            });
        } catch (RuntimeException | OutOfMemoryError e) {
            // a warm-up is an optimisation: whatever goes wrong here, the real work does not depend on it
        }
    }

    /** One instance of each kernel family the models use, at shapes with whole register tiles and ragged edges. */
    static final class Kernels {
        private final Workspace ws = new Workspace();
        private final SplittableRandom r;
        private final Conv2d conv3F4, conv3F2, conv3Direct, conv3Stride2, conv1, convFewOut, conv3DirectHalf;
        private final SeparableConv2d separable;
        /**
         * K of the float32 GEMMs: the real layers' (K slices of up to 512): the JIT sizes its loop unrolling by the
         * trip counts it profiled, and a warm-up at K = 64 left the GEMM kernel compiled for short loops (a warm
         * MobileDiffusion-Lite UNet then ran 20% slower).
         */
        private static final int DEEP = 1024;
        private final Linear linear, linearHalf;   // float32 and 16-bit packed weights (widened in the GEMM)
        private final GatedLinear geglu, swiglu;
        private final GroupNorm groupNorm;
        private final LayerNorm layerNorm;
        private final Tensor image, imageSmall, tokens, tokensDeep, tokensWide, context, q40, k40, q64, k64, qCtx, kCtx;

        Kernels(SplittableRandom r) {
            this.r = r;
            conv3F4 = new Conv2d(w("c3a", 64, 64, 3, 3), w("c3a.b", 64), 1, 1, ConvAlgorithm.WINOGRAD);
            conv3F2 = new Conv2d(w("c3b", 96, 64, 3, 3), w("c3b.b", 96), 1, 1, ConvAlgorithm.AUTO);
            conv3Direct = new Conv2d(w("c3c", 64, 64, 3, 3), w("c3c.b", 64), 1, 1, ConvAlgorithm.DIRECT);
            conv3Stride2 = new Conv2d(w("c3d", 64, 64, 3, 3), w("c3d.b", 64), 2, 1);
            conv1 = new Conv2d(w("c1", 96, 64, 1, 1), w("c1.b", 96), 1, 0);
            convFewOut = new Conv2d(w("c3e", 3, 64, 3, 3), w("c3e.b", 3), 1, 1);
            separable = new SeparableConv2d(w("dw", 64, 1, 3, 3), w("dw.b", 64), w("pw", 64, 64, 1, 1), w("pw.b", 64), 1);
            linear = new Linear(w("l", 200, DEEP), w("l.b", 200));
            linearHalf = new Linear(half(w("lh", 200, 130), io.sdj.core.DType.F16), w("lh.b", 200));
            conv3DirectHalf = new Conv2d(half(w("c3h", 64, 64, 3, 3), io.sdj.core.DType.BF16), w("c3h.b", 64), 1, 1, ConvAlgorithm.DIRECT);
            geglu = new GatedLinear(w("g", 2 * 136, DEEP), w("g.b", 2 * 136), Activation.GELU);
            swiglu = new GatedLinear(w("s", 2 * 136, DEEP), w("s.b", 2 * 136), Activation.SILU);
            groupNorm = new GroupNorm(w("gn", 64), w("gn.b", 64), 32, 1e-5f);
            layerNorm = new LayerNorm(w("ln", 64), w("ln.b", 64), 1e-5f);
            image = t(1, 64, 30, 34);
            imageSmall = t(1, 64, 15, 17);
            tokens = t(1, 150, 64);
            tokensDeep = t(1, 60, DEEP);
            tokensWide = t(1, 150, 130);
            context = t(1, 77, 64);
            q40 = t(1, 150, 80);   // 2 heads of 40
            k40 = t(1, 150, 80);
            q64 = t(1, 150, 128);  // 2 heads of 64
            k64 = t(1, 150, 128);
            qCtx = t(1, 150, 160); // 1 head of 160 against 77 keys
            kCtx = t(1, 77, 160);
        }

        /** Every kernel once; false when stopped before the end. */
        boolean round(java.util.function.BooleanSupplier stopped) {
            java.util.List<java.util.function.Supplier<Tensor>> steps = java.util.List.of(
                () -> conv3F4.forward(ws, image, Activation.RELU, null),
                () -> conv3F4.forwardUpsampled(ws, imageSmall, 2),
                () -> conv3F4.forwardResidualThen(ws, image, image, Activation.RELU),
                () -> conv3F2.forward(ws, imageSmall),
                () -> conv3Direct.forward(ws, image, image),
                () -> conv3Stride2.forward(ws, image),
                () -> conv1.forward(ws, image),
                () -> convFewOut.forward(ws, image),
                () -> separable.forward(ws, image),
                () -> groupNorm.forward(ws, image, true),
                () -> groupNorm.forward(ws, image, false),
                () -> layerNorm.forward(ws, tokens),
                () -> linear.forward(ws, tokensDeep, Activation.NONE, null),
                () -> linear.forward(ws, tokensDeep, Activation.QUICK_GELU, null),
                () -> linear.forward(ws, tokensDeep, Activation.SILU, null),
                () -> linearHalf.forward(ws, tokensWide),
                () -> conv3DirectHalf.forward(ws, image),
                () -> geglu.forward(ws, tokensDeep),
                () -> swiglu.forward(ws, tokensDeep),
                () -> Attention.forward(ws, q40, k40, k40, 2, Attention.Kind.SOFTMAX, false),
                () -> Attention.forward(ws, q64, k64, k64, 2, Attention.Kind.SOFTMAX, true),
                () -> Attention.forward(ws, qCtx, kCtx, kCtx, 1, Attention.Kind.SOFTMAX, false),
                () -> ReluAttention.forward(ws, q64, k64, k64, 2, 0.125f),
                () -> Elementwise.add(ws, image, image),
                () -> Elementwise.upsampleNearest(ws, imageSmall, 30, 34));
            for (var step : steps) {
                if (stopped.getAsBoolean()) return false;
                ws.release(step.get());
            }
            return true;
        }

        private Tensor t(int... shape) {
            float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
            for (int i = 0; i < v.length; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * 3);   // wide enough for every branch (e.g. GELU's tails)
            return Tensor.of(v, shape);
        }

        /** {@code w} rounded to a 16-bit {@code dtype} (F16 or BF16), as a half-precision file holds it. */
        private static WeightTensor half(WeightTensor w, io.sdj.core.DType dtype) {
            float[] v = w.toFloats();
            short[] h = new short[v.length];
            for (int i = 0; i < v.length; i++) h[i] = dtype == io.sdj.core.DType.F16 ? Float.floatToFloat16(v[i]) : io.sdj.core.DType.floatToBf16(v[i]);
            return new WeightTensor(w.name(), dtype, w.shape(), java.lang.foreign.MemorySegment.ofArray(h), null);
        }

        private WeightTensor w(String name, int... shape) {
            float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
            for (int i = 0; i < v.length; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * 0.15);
            return WeightTensor.ofFloats(name, v, shape);
        }
    }
}
