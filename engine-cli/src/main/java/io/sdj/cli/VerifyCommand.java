package io.sdj.cli;

import io.sdj.models.verify.CaseVerifier;
import io.sdj.models.verify.GoldenCase;
import io.sdj.models.verify.OutputCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code sdj verify}: runs reference cases (golden fixtures) through this engine and compares every output with the
 * upstream result. One line per output: case, component, output, max_abs, rel_l2, tolerance, PASS/FAIL. Exit status 1
 * when any output fails (or a case cannot be read); components this build does not implement are reported as
 * "not supported yet" and do not fail the run.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check this engine against reference cases (golden fixtures).",
                "CASE: a case directory (with case.json), or a directory of case directories."})
public final class VerifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "CASE", description = "case directories")
    List<Path> cases;

    @Option(names = "--intermediates", description = "also compare intermediates.safetensors and name the first activation that diverges")
    boolean intermediates;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int pass = 0, fail = 0, unsupported = 0, caseErrors = 0;
        List<Path> dirs = new ArrayList<>();
        for (Path p : cases) {
            try {
                dirs.addAll(expand(p));
            } catch (IllegalArgumentException e) {
                err.println("sdj verify: " + e.getMessage());
                caseErrors++;
            }
        }
        for (Path dir : dirs) {
            GoldenCase c;
            try {
                c = GoldenCase.load(dir);
            } catch (RuntimeException e) {
                err.println("sdj verify: " + e.getMessage());
                caseErrors++;
                continue;
            }
            CaseVerifier.Report r = CaseVerifier.verify(c, intermediates);
            for (OutputCheck oc : r.checks()) {
                out.println(oc.line());
                switch (oc.status()) {
                    case PASS -> pass++;
                    case FAIL -> fail++;
                    case NOT_SUPPORTED -> unsupported++;
                }
            }
            if (intermediates && r.supported()) {
                for (OutputCheck oc : r.intermediateChecks()) out.println("  intermediate " + oc.line());
                if (r.firstDivergence() == null) {
                    out.println("  " + c.name() + ": every compared intermediate is within tolerance");
                } else if (r.firstDivergence().startsWith("(")) {
                    out.println("  " + c.name() + ": no intermediates compared " + r.firstDivergence());
                } else {
                    out.println("  " + c.name() + ": first diverging activation: " + r.firstDivergence());
                }
            }
            out.flush();
        }
        out.printf("%d case(s): %d passed, %d failed, %d not supported yet%s%n", dirs.size(), pass, fail, unsupported,
                caseErrors > 0 ? ", " + caseErrors + " unreadable" : "");
        return fail > 0 || caseErrors > 0 ? 1 : 0;
    }

    /** A case directory itself, or every case directory directly inside a folder of cases (sorted). */
    static List<Path> expand(Path p) {
        if (Files.isRegularFile(p.resolve("case.json"))) return List.of(p);
        if (!Files.isDirectory(p)) throw new IllegalArgumentException(p + ": no such case directory");
        try (Stream<Path> s = Files.list(p)) {
            List<Path> found = s.filter(d -> Files.isRegularFile(d.resolve("case.json"))).sorted().toList();
            if (found.isEmpty()) throw new IllegalArgumentException(p + ": not a reference case (no case.json) and holds no cases");
            return found;
        } catch (IOException e) {
            throw new UncheckedIOException(p + ": cannot list: " + e.getMessage(), e);
        }
    }
}
