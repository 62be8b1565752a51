package io.sdj.core;

/**
 * Checks that the JDK's incubating Vector API module is available. sdj's kernels use {@code jdk.incubator.vector},
 * which a JVM only resolves when started with {@code --add-modules jdk.incubator.vector}; without it the first kernel
 * class fails with a bare {@code NoClassDefFoundError} from a static initialiser. The library's entry points call
 * {@link #require()} first, so an embedder gets one exception that says which flag to add.
 */
public final class VectorSupport {
    private VectorSupport() {}

    /** The module sdj's kernels need. */
    public static final String MODULE = "jdk.incubator.vector";

    /** The message of the exception {@link #require()} throws. */
    public static final String MISSING = "sdj needs the JDK Vector API: start the JVM with --add-modules " + MODULE
            + " (JDK 25 or newer; with Maven Surefire or exec, put it in argLine / the java arguments; see README \"From Java\")";

    /** Whether the Vector API module is resolved in this JVM. */
    public static boolean available() {
        return ModuleLayer.boot().findModule(MODULE).isPresent();
    }

    /** Throws {@link IllegalStateException} with {@link #MISSING} when the module is not available. */
    public static void require() {
        if (!available()) throw new IllegalStateException(MISSING);
    }
}
