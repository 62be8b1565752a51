package io.sdj.cli;

import io.sdj.weights.hub.ConsoleProgress;
import io.sdj.weights.hub.HubModels;
import io.sdj.weights.hub.HubReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Callable;

/** {@code sdj pull}: a hub repository (what a diffusers pipeline needs) or one file into the Hugging Face cache. */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Download a model from the Hugging Face hub into its cache (shared with the Python huggingface_hub client).",
                "MODEL: org/name[@revision] for a diffusers pipeline (model_index.json, the configs, the tokenizer and the",
                ".safetensors weights of unet, vae, text_encoder), or org/name[@revision]/path/file for one file.",
                "Environment: HF_ENDPOINT, HF_TOKEN (or the token file under HF_HOME), HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE.",
                "Prints the local path on stdout."})
public final class PullCommand implements Callable<Integer> {
    static final int EXIT_FAILED = ExitCodes.FAILED, EXIT_CANCELLED = ExitCodes.CANCELLED;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "org/name[@revision][/path/file]")
    String model;

    @Option(names = "--variant", paramLabel = "NAME", description = "weights variant to prefer where a component has it, e.g. fp16")
    String variant;

    @Option(names = "--include", paramLabel = "GLOB", arity = "1..*",
            description = "download exactly the repository files matching these globs (fnmatch: * crosses folders), e.g. '*.json' 'unet/*'")
    List<String> include = List.of();

    @Option(names = "--offline", description = "no network: only check that the model is complete in the cache (also HF_HUB_OFFLINE=1)")
    boolean offline;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        HubReference ref = HubReference.parse(model).orElseThrow(() ->
                new IllegalArgumentException("'" + model + "' is not a hub id (org/name[@revision][/path/file])"));
        HubModels hub = new HubModels(ModelArgument.environment(offline));
        try {
            HubModels.Pulled p = ModelArgument.whileCancellable(cancelled -> hub.pull(ref,
                    new HubModels.Options(variant, include, new ConsoleProgress(err), cancelled::get)));
            err.printf("%s: %d files at commit %s in %s%n", ref, p.files().size(), p.commit(), hub.client().cache().root());
            err.flush();
            out.println(p.path());
            out.flush();
            return 0;
        } catch (CancellationException e) {
            err.println();
            err.println("sdj pull: cancelled; the partial file is kept and the next pull resumes it");
            err.flush();
            return EXIT_CANCELLED;
        }
    }
}
