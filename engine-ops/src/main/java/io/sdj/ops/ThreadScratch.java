package io.sdj.ops;

/**
 * A per-thread float buffer that grows to the largest size asked for and is then reused, so a kernel's scratch space
 * costs no allocation per call. Each owner keeps its own instance (buffers of different owners may be in use at once).
 */
final class ThreadScratch {
    private final ThreadLocal<float[]> buffer = new ThreadLocal<>();

    /** This thread's buffer, at least {@code n} floats long; its contents are whatever the last use left. */
    float[] atLeast(int n) {
        float[] s = buffer.get();
        if (s == null || s.length < n) {
            s = new float[n];
            buffer.set(s);
        }
        return s;
    }
}
