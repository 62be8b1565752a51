package io.sdj.ops;

import io.sdj.core.Tensor;
import io.sdj.core.WeightTensor;
import io.sdj.core.Workspace;

/**
 * 2-D convolution over NCHW (PyTorch {@code nn.Conv2d}, groups = 1), square kernel, zero padding, bias fused.
 * <p>An implicit GEMM: Y[Cout, OH·OW] = W[Cout, Cin·k·k] · patches, the weights packed once off-heap as the broadcast
 * operand ({@link PackedMatrix#rowPanels}), the patches gathered per call in cache-sized tiles by {@link ConvPatches}.
 * <p>Stride-1 3×3 convolutions may run as Winograd convolutions instead ({@link ConvAlgorithm}, {@code -Dsdj.conv}):
 * their transformed weights are made once, the first time the layer runs at a size where Winograd is chosen, and kept
 * off-heap. Weights memory-mapped from a model file that stays open as long as the layer is used (layers built inside
 * {@link #deferringPacking}, as the pipeline loader does) are packed for the direct convolution only when the layer
 * first runs as one: most 3×3 layers of a UNet or decoder only ever run as Winograd convolutions, and their
 * transformed weights are made from the mapped file, so their direct form is never written (3×3 conv weights are 43%
 * of BK-SDM-Tiny's packed weights, 57% of SD 1.5's) — less memory, and less work while a model loads. Other weights are packed at once and not kept, so a
 * layer built from a file stays usable after the file is closed.
 */
public final class Conv2d {
    private final String name;
    private final int cout, cin, k, stride, padding;
    /** The weight as given, while it may still be needed: memory-mapped, and not yet packed; else null. */
    private volatile WeightTensor weight;
    private volatile PackedMatrix w; // [cout, cin·k·k] in row panels, off-heap; made on first direct use when mapped
    private final float[] bias;  // [cout] or null
    private final ConvAlgorithm algorithm;
    private volatile WinogradConv3x3 winograd; // transformed weights, made on first use

    /** Bound to true while a caller that keeps the weights' file open for the layers' lifetime builds them. */
    private static final ScopedValue<Boolean> FILE_OUTLIVES_LAYERS = ScopedValue.newInstance();

    /**
     * Runs {@code build} with the packing of memory-mapped conv weights deferred to the layers' first direct use. Only
     * for a caller that keeps the mapped files open as long as the layers it builds are used (a pipeline closes its
     * model file when it is closed itself); a layer whose file was closed before that use fails.
     */
    public static <T> T deferringPacking(java.util.function.Supplier<T> build) {
        return ScopedValue.where(FILE_OUTLIVES_LAYERS, true).call(build::get);
    }

    /** Runs {@code build} with every conv weight packed at once (inside {@link #deferringPacking}, for a file closed sooner). */
    public static <T> T packingAtOnce(java.util.function.Supplier<T> build) {
        return ScopedValue.where(FILE_OUTLIVES_LAYERS, false).call(build::get);
    }

    public Conv2d(WeightTensor weight, WeightTensor bias, int stride, int padding) {
        this(weight, bias, stride, padding, ConvAlgorithm.CONFIGURED);
    }

    /** As above with the algorithm given instead of {@code -Dsdj.conv} (tests, benchmarks). */
    public Conv2d(WeightTensor weight, WeightTensor bias, int stride, int padding, ConvAlgorithm algorithm) {
        if (weight.shape().length != 4 || weight.dim(2) != weight.dim(3)) {
            throw new IllegalArgumentException("conv weight '" + weight.name() + "' must be [out, in, k, k], got " + weight);
        }
        if (stride < 1 || padding < 0) throw new IllegalArgumentException("conv '" + weight.name() + "': bad stride " + stride + " / padding " + padding);
        if (weight.numel() == 0) throw new IllegalArgumentException("conv weight '" + weight.name() + "' is empty: " + weight);
        this.name = weight.name();
        this.cout = weight.dim(0);
        this.cin = weight.dim(1);
        this.k = weight.dim(2);
        this.stride = stride;
        this.padding = padding;
        if (weight.data().isMapped() && FILE_OUTLIVES_LAYERS.orElse(false)) this.weight = weight;
        else this.w = PackedMatrix.rowPanels(weight);
        if (bias != null) bias.requireShape(cout);
        this.bias = bias == null ? null : bias.toFloats();
        this.algorithm = algorithm;
    }

    public int inChannels() { return cin; }
    public int outChannels() { return cout; }
    public int kernelSize() { return k; }
    int padding() { return padding; }
    /** The packed weight, packed now if it was not yet. */
    PackedMatrix packedWeight() {
        PackedMatrix p = w;
        if (p != null) return p;
        synchronized (this) {
            if (w == null) {
                w = PackedMatrix.rowPanels(weight);
                weight = null;
            }
            return w;
        }
    }

    /** Whether the direct form exists yet. */
    boolean isPacked() { return w != null; }
    float[] biasValues() { return bias; }

    public int outSize(int in) { return (in + 2 * padding - k) / stride + 1; }

    public Tensor forward(Workspace ws, Tensor x) { return forward(ws, x, Activation.NONE, null); }

    /** conv(x) + b + residual (residual may be null; same shape as the output). */
    public Tensor forward(Workspace ws, Tensor x, Tensor residual) { return forward(ws, x, Activation.NONE, residual); }

    /** act(conv(x) + b) + residual (residual may be null; same shape as the output). */
    public Tensor forward(Workspace ws, Tensor x, Activation act, Tensor residual) {
        x.requireRank("conv '" + name + "'", 4).requireDim("conv '" + name + "' input channels", 1, cin);
        int n = x.dim(0), h = x.dim(2), wd = x.dim(3);
        int oh = outSize(h), ow = outSize(wd);
        if (oh < 1 || ow < 1 || h + 2 * padding < k || wd + 2 * padding < k) {
            throw new IllegalArgumentException("conv '" + name + "': input " + x + " too small for kernel " + k);
        }
        Tensor y = ws.take(n, cout, oh, ow);
        if (residual != null) Tensor.requireSameShape("conv '" + name + "' residual", y, residual);
        float[] rd = residual == null ? null : residual.data();
        int ohw = oh * ow;
        WinogradConv3x3 wino = winograd(oh, ow);
        for (int b = 0; b < n; b++) {
            if (wino != null) {
                wino.forward(x.data(), b * cin * h * wd, h, wd, bias, act, rd, y.data(), b * cout * ohw);
                continue;
            }
            ConvPatches patches = new ConvPatches(x.data(), b * cin * h * wd, h, wd, k, stride, padding, ow);
            Gemm.multiplyPacked(packedWeight(), ohw, patches, y.data(), b * cout * ohw, ohw, bias, act, rd);
        }
        return y;
    }

    /**
     * conv(upsampleNearest(x, up·h, up·w)) + b (the decoders' upsample → conv): a Winograd layer reads the
     * upsampled pixels straight from x while it pads its input rows, so the upsampled tensor is never written; a
     * direct one upsamples first. Same bits either way as the two steps.
     */
    public Tensor forwardUpsampled(Workspace ws, Tensor x, int up) {
        x.requireRank("conv '" + name + "'", 4).requireDim("conv '" + name + "' input channels", 1, cin);
        if (up < 1) throw new IllegalArgumentException("conv '" + name + "': upsampling factor must be ≥ 1, got " + up);
        int n = x.dim(0), h = up * x.dim(2), wd = up * x.dim(3);
        WinogradConv3x3 wino = up == 1 || outSize(h) < 1 || outSize(wd) < 1 ? null : winograd(outSize(h), outSize(wd));
        if (wino == null) {
            if (up == 1) return forward(ws, x);
            Tensor u = Elementwise.upsampleNearest(ws, x, h, wd);
            Tensor y = forward(ws, u);
            ws.release(u);
            return y;
        }
        int oh = outSize(h), ow = outSize(wd);
        Tensor y = ws.take(n, cout, oh, ow);
        int per = cin * x.dim(2) * x.dim(3);
        for (int b = 0; b < n; b++) wino.forward(x.data(), b * per, h, wd, up, bias, Activation.NONE, null, false, y.data(), b * cout * oh * ow);
        return y;
    }

    /**
     * act(conv(x) + b + residual): the activation after the residual add (TAESD's blocks end so), in the Winograd
     * epilogue when the layer runs as one, else as a separate pass. Same bits either way.
     */
    public Tensor forwardResidualThen(Workspace ws, Tensor x, Tensor residual, Activation act) {
        x.requireRank("conv '" + name + "'", 4).requireDim("conv '" + name + "' input channels", 1, cin);
        int n = x.dim(0), h = x.dim(2), wd = x.dim(3);
        WinogradConv3x3 wino = h + 2 * padding < k || wd + 2 * padding < k ? null : winograd(outSize(h), outSize(wd));
        if (wino == null) return Activations.applyInPlace(forward(ws, x, Activation.NONE, residual), act);
        int oh = outSize(h), ow = outSize(wd);
        Tensor y = ws.take(n, cout, oh, ow);
        Tensor.requireSameShape("conv '" + name + "' residual", y, residual);
        for (int b = 0; b < n; b++) {
            wino.forward(x.data(), b * cin * h * wd, h, wd, 1, bias, act, residual.data(), true, y.data(), b * cout * oh * ow);
        }
        return y;
    }

    /** The Winograd form of this layer when it runs at oh × ow, else null (direct convolution). */
    WinogradConv3x3 winograd(int oh, int ow) {
        if (k != 3 || stride != 1) return null;
        WinogradConv3x3.Tile tile = algorithm.choose(cin, cout, oh, ow);
        if (tile == null) return null;
        WinogradConv3x3 wg = winograd;
        if (wg == null || wg.tile() != tile) {
            synchronized (this) {
                wg = winograd;
                if (wg == null || wg.tile() != tile) {
                    WeightTensor mapped = weight;
                    winograd = wg = mapped != null ? WinogradConv3x3.of(mapped, padding, tile) : WinogradConv3x3.of(packedWeight(), padding, tile);
                }
            }
        }
        return wg;
    }
}
