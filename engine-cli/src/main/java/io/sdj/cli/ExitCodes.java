package io.sdj.cli;

import io.sdj.weights.WeightsFormatException;

import java.util.concurrent.CancellationException;

/**
 * The exit status of every {@code sdj} command (README "Exit codes"):
 * 0 success; 1 the operation ran and failed (a verify case failed, a checksum did not match, an output could not be
 * written, an unexpected error); 2 bad usage or input (unknown option, bad value, missing file, output exists without
 * {@code --force}); 3 the model cannot be used (unreadable, corrupt, unsupported or lacking a needed component);
 * 4 not enough memory; 130 cancelled (Ctrl-C).
 */
public final class ExitCodes {
    private ExitCodes() {}

    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int BAD_INPUT = 2;
    public static final int BAD_MODEL = 3;
    public static final int OUT_OF_MEMORY = 4;
    public static final int CANCELLED = 130;

    /** The status for an exception that ended a command. */
    public static int of(Throwable e) {
        if (e instanceof OutOfMemoryError || e instanceof io.sdj.core.DirectMemory.ShortageException) return OUT_OF_MEMORY;
        if (e instanceof CancellationException) return CANCELLED;
        if (e instanceof WeightsFormatException) return BAD_MODEL;
        if (e instanceof IllegalArgumentException) return BAD_INPUT;
        return FAILED;
    }

    /**
     * One line for an out-of-memory error, naming the setting to raise: the heap ({@code -Xmx}) for activations, the
     * direct-memory limit for packed weights; both through {@code SDJ_JAVA_OPTS}, which {@code ./sdj} passes to the JVM.
     */
    public static String outOfMemoryMessage(OutOfMemoryError e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        long maxHeapMb = Runtime.getRuntime().maxMemory() >> 20;
        if (m.contains("direct buffer memory")) {
            return "out of memory for packed weights (" + m + "): raise the direct-memory limit, e.g. SDJ_JAVA_OPTS=\"-XX:MaxDirectMemorySize=16g\"";
        }
        return "out of memory (the Java heap is " + maxHeapMb + " MB" + (m.isEmpty() ? "" : "; " + m) + "): raise it, e.g. "
                + "SDJ_JAVA_OPTS=\"-Xmx" + Math.max(4, 2 * Math.max(1, maxHeapMb >> 10)) + "g\", or use a smaller size or batch";
    }
}
