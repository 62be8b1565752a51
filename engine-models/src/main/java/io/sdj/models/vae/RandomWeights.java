package io.sdj.models.vae;

import io.sdj.core.DType;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Deterministic synthetic F32 weights, off-heap in an {@link Arena}, for benchmarks of the VAE and TAESD (never for
 * correctness: use real fixtures for that). Each tensor's values depend only on the seed and its name, so the same
 * model gets the same weights on every run. Scaled like PyTorch's default init so activations stay O(1): weights of
 * rank ≥ 2 uniform in ±1/√fan_in, 1-D tensors named {@code *.weight} (norm gains) near 1, biases small.
 * Close it to free the memory (models built from it keep their own copies).
 */
public final class RandomWeights implements WeightSource, AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final Map<String, WeightTensor> tensors = new LinkedHashMap<>();
    private final String origin;

    public RandomWeights(Map<String, int[]> shapes, long seed, String origin) {
        this.origin = origin;
        for (var e : shapes.entrySet()) {
            String name = e.getKey();
            int[] shape = e.getValue();
            long n = io.sdj.core.Tensor.numel(shape);
            MemorySegment seg = arena.allocate(ValueLayout.JAVA_FLOAT, n);
            SplittableRandom rnd = new SplittableRandom(seed ^ (name.hashCode() * 0x9E3779B97F4A7C15L));
            boolean gain = shape.length == 1 && name.endsWith(".weight");
            double bound = shape.length >= 2 ? 1.0 / Math.sqrt(n / shape[0]) : gain ? 0.1 : 0.02;
            for (long i = 0; i < n; i++) {
                float v = (float) ((rnd.nextDouble() * 2 - 1) * bound + (gain ? 1.0 : 0.0));
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            }
            tensors.put(name, new WeightTensor(name, DType.F32, shape, seg, null));
        }
    }

    /** The whole SD-topology VAE (or any config) with seed-determined values. */
    public static RandomWeights forVae(VaeConfig config, long seed) {
        return new RandomWeights(VaeParameterShapes.of(config), seed, "synthetic VAE weights (seed " + seed + ")");
    }

    @Override
    public WeightTensor get(String name) {
        WeightTensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException(origin + ": no tensor '" + name + "'");
        return t;
    }

    @Override
    public boolean contains(String name) { return tensors.containsKey(name); }

    @Override
    public Set<String> names() { return Collections.unmodifiableSet(tensors.keySet()); }

    @Override
    public String origin() { return origin; }

    /** Total number of parameters. */
    public long parameterCount() {
        return tensors.values().stream().mapToLong(WeightTensor::numel).sum();
    }

    @Override
    public void close() { arena.close(); }

    @Override
    public String toString() { return origin + " (" + tensors.size() + " tensors)"; }
}
