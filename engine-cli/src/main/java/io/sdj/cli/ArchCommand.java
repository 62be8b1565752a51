package io.sdj.cli;

import io.sdj.models.Architecture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sdj arch}: the bundled full-size architectures with their parameters and multiply-accumulates at a 64×64
 * (512² image) and a 32×32 (256²) latent, batch 1, counted from the config alone.
 */
@Command(name = "arch", mixinStandardHelpOptions = true,
        description = {"List the bundled architectures (configs without weights): component, parameters, GMACs of one "
                + "evaluation at batch 1 on a 64×64 and a 32×32 latent (UNet: 77 text tokens; decoders: latent → image), source.",
                "1 MAC = 2 FLOPs; convolutions, linear layers and attention matmuls are counted. "
                + "Each name works with `sdj profile --arch NAME`."})
public final class ArchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..*", paramLabel = "NAME", description = "only these architectures (default: all)")
    List<String> names = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<Architecture> list = new ArrayList<>();
        try {
            if (names.isEmpty()) list.addAll(Architecture.ALL);
            else for (String n : names) list.add(Architecture.named(n));
        } catch (IllegalArgumentException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("sdj arch: " + e.getMessage());
            err.flush();
            return ExitCodes.BAD_INPUT;
        }
        out.printf("%-21s %-13s %15s %11s %11s  %s%n", "name", "component", "parameters", "GMACs 64²", "GMACs 32²", "source");
        for (Architecture a : list) out.println(row(a));
        out.flush();
        return 0;
    }

    static String row(Architecture a) {
        return String.format(Locale.ROOT, "%-21s %-13s %,15d %11.2f %11.2f  %s", a.name(), a.component().label(), a.parameters(),
                a.macs(64, 64) / 1e9, a.macs(32, 32) / 1e9, a.source());
    }
}
