package io.sdj.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A class's main method in a child JVM with the Vector API module and this test classpath: how the tests run kernel
 * variants and other settings that a running JVM has already fixed in its {@code static final} fields.
 */
final class ChildJvm {
    private ChildJvm() {}

    /** The child's exit code and its output (stdout and stderr together). */
    record Result(int exitCode, String output) {}

    /** Runs {@code main} with these JVM flags and arguments; asserts that it ends within {@code minutes}. */
    static Result start(Class<?> main, int minutes, List<String> flags, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector"));
        cmd.addAll(flags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(minutes, TimeUnit.MINUTES)).as("child JVM %s %s ended", main.getSimpleName(), flags).isTrue();
        return new Result(p.exitValue(), out);
    }

    /** {@link #start} within 10 minutes, asserting exit code 0; the child's output. */
    static String run(Class<?> main, List<String> flags, String... args) throws Exception {
        Result r = start(main, 10, flags, args);
        assertThat(r.exitCode()).as("child JVM %s:\n%s", flags, r.output()).isZero();
        return r.output();
    }
}
