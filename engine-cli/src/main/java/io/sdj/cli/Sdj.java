package io.sdj.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** The {@code sdj} command: entry point of the CLI. Each subcommand lives in its own class. */
@Command(name = "sdj", mixinStandardHelpOptions = true, version = "sdj 0.1.0",
        description = "Pure-Java text-to-image inference (Stable Diffusion family).",
        subcommands = {CommandLine.HelpCommand.class, ConvertCommand.class, InfoCommand.class, BenchCommand.class, VerifyCommand.class, GenerateCommand.class,
                PullCommand.class, ArchCommand.class, ProfileCommand.class, ServeCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:the operation failed (a check or verification failed, an output could not be written)",
                "2:bad usage or input", "3:the model cannot be used (unreadable, corrupt, unsupported)", "4:out of memory",
                "130:cancelled"})
public final class Sdj implements java.util.concurrent.Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** {@code sdj} without a command is a usage error: the usage goes to stderr and the status is 2. */
    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        cl.getErr().println("sdj: no command given");
        cl.usage(cl.getErr());
        return ExitCodes.BAD_INPUT;
    }

    /** Builds the command line with all subcommands; used by {@link #main} and by tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Sdj());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("sdj: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return ExitCodes.of(ex);
        });
        // a parse error is one line (and where to look), not a 30-line usage dump
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine failed = ex.getCommandLine();
            PrintWriter err = failed.getErr();
            err.println("sdj: " + ex.getMessage() + " (see '" + failed.getCommandSpec().qualifiedName() + " --help')");
            err.flush();
            return ExitCodes.BAD_INPUT;
        });
        return cl;
    }

    /**
     * Runs a command line; an out-of-memory error anywhere ends with one line and {@link ExitCodes#OUT_OF_MEMORY}, and a
     * bad {@code -Dsdj.*} setting (rejected when the class reading it is initialised, e.g. {@code -Dsdj.conv=fft}) with
     * its message and {@link ExitCodes#BAD_INPUT}.
     */
    public static int run(CommandLine cl, String... args) {
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            cl.getErr().println("sdj: " + ExitCodes.outOfMemoryMessage(e));
            cl.getErr().flush();
            return ExitCodes.OUT_OF_MEMORY;
        } catch (ExceptionInInitializerError e) {
            if (!(e.getCause() instanceof IllegalArgumentException bad)) throw e;
            cl.getErr().println("sdj: " + bad.getMessage());
            cl.getErr().flush();
            return ExitCodes.BAD_INPUT;
        }
    }

    public static void main(String[] args) {
        if (!io.sdj.core.VectorSupport.available()) {   // java -jar sdj.jar without the flag ./sdj passes
            System.err.println("sdj: " + io.sdj.core.VectorSupport.MISSING);
            System.exit(ExitCodes.BAD_INPUT);
        }
        System.exit(run(commandLine(), args));
    }
}
