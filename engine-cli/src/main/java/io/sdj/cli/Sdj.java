package io.sdj.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sdj} command: entry point of the CLI. Each subcommand lives in its own class. */
@Command(name = "sdj", mixinStandardHelpOptions = true, version = "sdj 0.1.0",
        description = "Pure-Java text-to-image inference (Stable Diffusion family).",
        subcommands = {CommandLine.HelpCommand.class, ConvertCommand.class, InfoCommand.class, BenchCommand.class, VerifyCommand.class, GenerateCommand.class, PullCommand.class})
public final class Sdj implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Builds the command line with all subcommands; used by {@link #main} and by tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Sdj());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("sdj: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return 1;
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
