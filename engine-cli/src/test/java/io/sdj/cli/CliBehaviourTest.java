package io.sdj.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Behaviour shared by every command: one-line parse errors, uniform exit codes, out-of-memory, seeds. */
class CliBehaviourTest {
    record Run(int exit, String out, String err) {
        List<String> errLines() { return Arrays.stream(err.split("\\R")).filter(l -> !l.isBlank()).toList(); }
    }

    private static Run sdj(String... args) {
        CommandLine cl = Sdj.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = Sdj.run(cl, args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void parseErrorsAreOneLineWithExitCode2() {
        for (String[] args : List.of(new String[]{"generate", "--no-such-option"}, new String[]{"generate", "--steps", "many", "--model", "m", "--prompt", "p", "-o", "o.png"},
                new String[]{"info"}, new String[]{"convert", "--bogus"}, new String[]{"frobnicate"})) {
            Run r = sdj(args);
            assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(ExitCodes.BAD_INPUT);
            assertThat(r.errLines()).as(r.err()).hasSize(1);
            assertThat(r.err()).startsWith("sdj: ").contains("--help").doesNotContain("Usage:");
        }
    }

    @Test
    void noCommandIsAUsageError() {
        Run r = sdj();
        assertThat(r.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("no command given").contains("Usage:");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void helpListsTheExitCodes() {
        Run r = sdj("--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("Exit codes:").contains("130").contains("out of memory");
    }

    @CommandLine.Command(name = "boom")
    static final class Boom implements java.util.concurrent.Callable<Integer> {
        @Override public Integer call() { throw new OutOfMemoryError("Java heap space"); }
    }

    @Test
    void outOfMemoryIsOneLineNamingTheSetting() {
        CommandLine cl = new CommandLine(new Boom());
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        int code = Sdj.run(cl);
        assertThat(code).isEqualTo(ExitCodes.OUT_OF_MEMORY);
        assertThat(err.toString().strip()).startsWith("sdj: out of memory").contains("SDJ_JAVA_OPTS").contains("-Xmx").doesNotContain("\tat ");
        assertThat(ExitCodes.outOfMemoryMessage(new OutOfMemoryError("Cannot reserve 1048576 bytes of direct buffer memory")))
                .contains("MaxDirectMemorySize").contains("SDJ_JAVA_OPTS");
    }

    @CommandLine.Command(name = "badSetting")
    static final class BadSetting implements java.util.concurrent.Callable<Integer> {
        @Override public Integer call() {
            throw new ExceptionInInitializerError(new IllegalArgumentException("-Dsdj.conv must be direct, winograd or auto, got 'fft'"));
        }
    }

    @Test
    void aBadSystemPropertyIsOneLine() {
        CommandLine cl = new CommandLine(new BadSetting());
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        assertThat(Sdj.run(cl)).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(err.toString().strip()).isEqualTo("sdj: -Dsdj.conv must be direct, winograd or auto, got 'fft'");
    }

    @Test
    void seedsCoverTorchsWholeRange() {
        assertThat(Long.toUnsignedString(GenerateCommand.parseSeed("18446744073709551615"))).isEqualTo("18446744073709551615");
        assertThat(GenerateCommand.parseSeed("42")).isEqualTo(42L);
        assertThat(Long.toUnsignedString(GenerateCommand.parseSeed("9223372036854775808"))).isEqualTo("9223372036854775808");
        assertThat(GenerateCommand.parseSeed("-2")).isEqualTo(-2L);   // torch: wraps to 2^64 - 2
        long random = GenerateCommand.parseSeed("-1");
        assertThat(random).isBetween(0L, 0xFFFF_FFFFL);
        assertThat(GenerateCommand.parseSeed(null)).isBetween(0L, 0xFFFF_FFFFL);
        assertThatThrownBy(() -> GenerateCommand.parseSeed("18446744073709551616")).hasMessageContaining("--seed");
        assertThatThrownBy(() -> GenerateCommand.parseSeed("0x10")).hasMessageContaining("--seed");
    }
}
