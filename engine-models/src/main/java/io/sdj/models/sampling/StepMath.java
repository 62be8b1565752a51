package io.sdj.models.sampling;

import io.sdj.core.Tensor;

import java.util.Arrays;

/** Small float32 helpers shared by the samplers (each operation rounds to float as a PyTorch kernel does). */
final class StepMath {
    private StepMath() { }

    static float sqrt(float x) { return (float) Math.sqrt(x); }

    static float log(float x) { return (float) Math.log(x); }

    static float exp(float x) { return (float) Math.exp(x); }

    /** Checks that model output and sample have the same shape and returns the element count. */
    static int requireSameShape(String sampler, Tensor modelOutput, Tensor sample) {
        if (!modelOutput.sameShape(sample)) {
            throw new IllegalArgumentException(sampler + " step: model output shape " + Arrays.toString(modelOutput.shape())
                    + " differs from sample shape " + Arrays.toString(sample.shape()));
        }
        return sample.numel();
    }

    /** Noise for a stochastic step, checked for size. */
    static float[] drawNoise(String sampler, NoiseSource noise, int[] shape) {
        if (noise == null) throw new IllegalArgumentException(sampler + " step needs a noise source (it adds fresh Gaussian noise)");
        float[] z = noise.next(shape);
        long n = Tensor.numel(shape);
        if (z == null || z.length < n) {
            throw new IllegalArgumentException(sampler + " step: noise source returned " + (z == null ? "null" : z.length + " values")
                    + " for shape " + Arrays.toString(shape));
        }
        return z;
    }

    /** An integer timestep from the float the interface carries, refusing fractional values. */
    static int integerTimestep(String sampler, float t, int numTrain) {
        int ti = (int) t;
        if (ti != t) throw new IllegalArgumentException(sampler + ": timestep " + t + " is not an integer");
        if (ti < 0 || ti >= numTrain) throw new IllegalArgumentException(sampler + ": timestep " + ti + " is outside [0, " + numTrain + ")");
        return ti;
    }

    /**
     * diffusers' {@code _init_step_index}: the position of t in the timesteps; when t occurs more than once the second
     * occurrence (so a sampler restarted mid-schedule, as img2img does, does not skip a σ); {@code ifMissing} when absent
     * (or -1 to refuse).
     */
    static int initialStepIndex(String sampler, float[] timesteps, float t, int ifMissing) {
        int first = -1, count = 0, second = -1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                if (count == 0) first = i; else if (count == 1) second = i;
                count++;
            }
        }
        if (count == 0) {
            if (ifMissing >= 0) return ifMissing;
            throw new IllegalArgumentException(sampler + ": timestep " + t + " is not one of this schedule's timesteps " + Arrays.toString(timesteps));
        }
        return count > 1 ? second : first;
    }

    /**
     * The index of the step to take now: {@code current} once known, else found from t as
     * {@link #initialStepIndex} does; refuses a step past the last one.
     */
    static int stepIndex(String sampler, int current, float[] timesteps, float t, int ifMissing) {
        int i = current >= 0 ? current : initialStepIndex(sampler, timesteps, t, ifMissing);
        if (i >= timesteps.length) throw new IllegalStateException(sampler + ": all " + timesteps.length + " steps are done");
        return i;
    }

    static float[] toFloats(int[] t) {
        float[] f = new float[t.length];
        for (int i = 0; i < t.length; i++) f[i] = t[i];
        return f;
    }

    static Tensor like(Tensor t, float[] data) { return new Tensor(data, t.shape()); }
}
