package io.sdj.models.unet;

import io.sdj.core.DType;
import io.sdj.core.Tensor;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Deterministic random weights for benchmarks and shape tests, created on request while a model is built: the model
 * asks for each parameter with the shape its own construction implies, so no separate list of shapes exists that
 * could drift from the code. Values depend only on (seed, full name, shape):
 * matrices and kernels are uniform with variance 1/fan_in (activations keep their scale through a layer), norm scales
 * 1 ± 0.1, biases ± 0.02. Stored off-heap in an automatic {@link Arena}, so an SD 1.5-size UNet's weights need no heap.
 *
 * <p>{@link #get} returns only tensors already created (the source does not know shapes in advance).
 */
public final class SyntheticWeights implements WeightSource {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Store store;
    private final String prefix;

    private static final class Store {
        final long seed;
        final Arena arena = Arena.ofAuto();
        final Map<String, WeightTensor> tensors = new ConcurrentHashMap<>();
        Store(long seed) { this.seed = seed; }
    }

    public SyntheticWeights(long seed) { this(new Store(seed), ""); }

    private SyntheticWeights(Store store, String prefix) {
        this.store = store;
        this.prefix = prefix;
    }

    /** The tensor {@code name} (relative to this view) with this shape, created on first request. */
    WeightTensor create(String name, int... shape) {
        String full = prefix + name;
        WeightTensor t = store.tensors.computeIfAbsent(full, k -> generate(k, shape));
        return t.requireShape(shape);
    }

    private WeightTensor generate(String name, int[] shape) {
        long n = Tensor.numel(shape);
        MemorySegment seg = store.arena.allocate(n * 4, 64);
        SplittableRandom rnd = new SplittableRandom(store.seed * 0x9E3779B97F4A7C15L ^ name.hashCode() * 0xC2B2AE3D27D4EB4FL ^ n);
        float center, halfWidth;
        boolean vector = shape.length == 1;
        if (vector && name.endsWith("weight")) {        // a norm's scale
            center = 1f;
            halfWidth = 0.1f;
        } else if (vector) {                             // a bias
            center = 0f;
            halfWidth = 0.02f;
        } else {                                         // uniform(-a, a) has variance a²/3 = 1/fan_in
            long fanIn = n / shape[0];
            center = 0f;
            halfWidth = (float) Math.sqrt(3.0 / fanIn);
        }
        for (long i = 0; i < n; i++) {
            seg.setAtIndex(F32, i, center + halfWidth * (float) (2 * rnd.nextDouble() - 1));
        }
        return new WeightTensor(name, DType.F32, shape, seg, null);
    }

    /** Total bytes of the weights created so far. */
    public long bytes() {
        long b = 0;
        for (WeightTensor t : store.tensors.values()) b += t.data().byteSize();
        return b;
    }

    /** Number of parameters created so far. */
    public long parameters() {
        long p = 0;
        for (WeightTensor t : store.tensors.values()) p += t.numel();
        return p;
    }

    @Override
    public WeightTensor get(String name) {
        WeightTensor t = store.tensors.get(prefix + name);
        if (t == null) throw new IllegalArgumentException("synthetic weights: '" + prefix + name + "' has not been created (its shape is only known when a model asks for it)");
        return t;
    }

    @Override
    public boolean contains(String name) { return store.tensors.containsKey(prefix + name); }

    @Override
    public Set<String> names() {
        Set<String> out = new TreeSet<>();
        for (String k : store.tensors.keySet()) if (k.startsWith(prefix)) out.add(k.substring(prefix.length()));
        return out;
    }

    @Override
    public String origin() { return "synthetic weights (seed " + store.seed + ")" + (prefix.isEmpty() ? "" : " [" + prefix + "]"); }

    @Override
    public WeightSource at(String more) {
        String p = more.isEmpty() || more.endsWith(".") ? more : more + ".";
        return new SyntheticWeights(store, prefix + p);
    }

    @Override
    public String toString() { return origin() + ": " + store.tensors.size() + " tensors, " + parameters() + " parameters"; }
}
