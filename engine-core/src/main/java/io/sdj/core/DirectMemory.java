package io.sdj.core;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * The JVM's limit on off-heap ("direct") memory, which sdj's packed weights count against: the FFM arena behind each
 * packed weight matrix reserves direct memory, and the limit {@code -XX:MaxDirectMemorySize} defaults to the maximum
 * heap size. A model whose packed weights exceed what is left is refused up front with a message that gives the size
 * and the flag, instead of a raw {@code OutOfMemoryError: Cannot reserve … direct buffer memory} halfway through
 * loading.
 */
public final class DirectMemory {
    private DirectMemory() {}

    /** The direct-memory limit in bytes: {@code -XX:MaxDirectMemorySize}, or the maximum heap size when it is unset. */
    public static long limit() {
        try {
            var hotspot = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            long v = Long.parseLong(hotspot.getVMOption("MaxDirectMemorySize").getValue());
            if (v > 0) return v;
        } catch (RuntimeException | LinkageError e) {
            // not a HotSpot JVM: fall back to the documented default
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** Direct memory in use now (NIO direct buffers and FFM native arenas). */
    public static long used() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) return pool.getMemoryUsed();
        }
        return 0;
    }

    /** Thrown when a model's packed weights do not fit under the direct-memory limit. */
    public static final class ShortageException extends IllegalStateException {
        public ShortageException(String message, Throwable cause) { super(message, cause); }
    }

    /**
     * Throws {@link ShortageException} when {@code needed} more bytes of direct memory do not fit under the limit;
     * the message names {@code what}, both sizes and the flag to raise.
     */
    public static void require(long needed, String what) {
        long limit = limit(), free = limit - used();
        if (needed > free) throw new ShortageException(shortage(needed, free, limit, what), null);
    }

    /** The message for a shortage (also used when the JVM itself refuses a reservation). */
    public static String shortage(long needed, long free, long limit, String what) {
        long suggest = ((needed + (limit - free)) * 5 / 4 >> 30) + 1;
        return what + " needs " + mb(needed) + " of off-heap (direct) memory but only " + mb(Math.max(0, free)) + " of the JVM's "
                + mb(limit) + " limit is free: start the JVM with -XX:MaxDirectMemorySize=" + suggest + "g (the default limit is the heap size, -Xmx; "
                + "with the sdj command: SDJ_JAVA_OPTS=\"-XX:MaxDirectMemorySize=" + suggest + "g\")";
    }

    /** Bytes as "1234 MB". */
    public static String mb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%,d MB", (bytes + (1 << 20) - 1) >> 20);
    }
}
