package io.sdj.ops;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

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

    /** The same for off-heap float storage (freed with the thread's last reference to it). */
    static final class OffHeap {
        private final ThreadLocal<MemorySegment> buffer = new ThreadLocal<>();

        /** This thread's segment, at least {@code floats} floats long, 64-byte aligned; contents as the last use left them. */
        MemorySegment atLeast(long floats) {
            MemorySegment s = buffer.get();
            if (s == null || s.byteSize() < floats * Float.BYTES) {
                s = Arena.ofAuto().allocate(floats * Float.BYTES, 64);
                buffer.set(s);
            }
            return s;
        }
    }
}
