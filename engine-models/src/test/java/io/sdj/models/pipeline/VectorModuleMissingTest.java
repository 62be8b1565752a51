package io.sdj.models.pipeline;

import io.sdj.core.VectorSupport;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An embedder who forgets {@code --add-modules jdk.incubator.vector} gets one exception naming the flag, not a
 * {@code NoClassDefFoundError} from a kernel's static initialiser. Runs a child JVM without the flag.
 */
class VectorModuleMissingTest {
    /** Entry point of the child JVM: loads a (nonexistent) model and prints what was thrown. */
    public static void main(String[] args) {
        try {
            Txt2Img.load(Path.of(args[0]));
            System.out.println("LOADED");
        } catch (Throwable t) {
            System.out.println(t.getClass().getName() + ": " + t.getMessage());
        }
    }

    /** Packed weights count against -XX:MaxDirectMemorySize: a model that does not fit is refused up front, naming the flag. */
    @Test
    void tooLittleDirectMemoryIsOneClearException() throws Exception {
        Path model = io.sdj.models.verify.GoldenCase.goldenDir().resolve("pipeline-sd1-tiny");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(model), "golden pipeline-sd1-tiny absent");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "--add-modules", "jdk.incubator.vector", "-XX:MaxDirectMemorySize=1m",
                "-cp", System.getProperty("java.class.path"), VectorModuleMissingTest.class.getName(), model.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(out.lines().filter(l -> !l.startsWith("WARNING")).toList()).singleElement().asString()
                .startsWith(io.sdj.core.DirectMemory.ShortageException.class.getName() + ": packing the weights of model 'pipeline-sd1-tiny' needs ")
                .contains("-XX:MaxDirectMemorySize=").contains("SDJ_JAVA_OPTS");
    }

    @Test
    void missingModuleIsOneClearException() throws Exception {
        assertThat(VectorSupport.available()).as("this test JVM runs with the module").isTrue();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                VectorModuleMissingTest.class.getName(), "/nonexistent/model.sdj"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out.strip()).isEqualTo(IllegalStateException.class.getName() + ": " + VectorSupport.MISSING);
    }
}
