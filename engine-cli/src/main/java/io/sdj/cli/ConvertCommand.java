package io.sdj.cli;

import io.sdj.core.DType;
import io.sdj.weights.ModelImporter;
import io.sdj.weights.ModelSource;
import io.sdj.weights.ModelWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code sdj convert}: any supported model layout → one sdj flat file (weights-format/FORMAT.md). */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a model to an sdj flat file.",
                "SOURCE: a diffusers folder (model_index.json), a component folder (config.json + *.safetensors),",
                "a .safetensors file (an SD 1.x/2.x single-file LDM checkpoint is detected and mapped to diffusers keys),",
                "a pickled PyTorch file (.ckpt, .pth, .bin, .pt; read without running any code from it: LDM checkpoints,",
                "TAESD .pth, LoRA .pt), or a sharded *.safetensors.index.json;",
                "or a hub id org/name[@revision][/file], pulled into the Hugging Face cache first."})
public final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "model to convert: a path, or a hub id org/name[@revision][/file] (pulled on first use)")
    String source;

    @Option(names = "--offline", description = "never use the network: a hub id must be in the cache (also HF_HUB_OFFLINE=1)")
    boolean offline;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "flat file to write")
    Path output;

    @Option(names = "--dtype", paramLabel = "DTYPE", description = "f32, f16, bf16 or int8 (per-output-channel; vectors keep their dtype). Default: keep each tensor's dtype.")
    String dtype;

    @Option(names = "--force", description = "overwrite an existing output file")
    boolean force;

    @Option(names = "--component", paramLabel = "NAME", description = "component name for a single-component source (default: from its config)")
    String component;

    @Option(names = "--config-from", paramLabel = "DIR", description = "diffusers folder (or hub id) whose configs and tokenizer an LDM checkpoint uses (default: built-in SD 1.x/2.x configs sized from the checkpoint)")
    String configFrom;

    static DType parseDType(String s) {
        if (s == null) return null;
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> DType.F32;
            case "f16", "fp16", "float16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            case "int8", "i8" -> DType.I8;
            default -> throw new IllegalArgumentException("unknown --dtype '" + s + "' (expected f32, f16, bf16 or int8)");
        };
    }

    @Override
    public Integer call() {
        DType dt = parseDType(dtype);
        if (!force && java.nio.file.Files.exists(output)) {
            throw new IllegalArgumentException(output + ": already exists (use --force to overwrite)");
        }
        ModelWriter.Result r;
        try (ModelSource src = ModelImporter.importFrom(ModelArgument.resolve(source, offline, spec.commandLine().getErr()), new ModelImporter.Options(component,
                configFrom == null ? null : ModelArgument.resolve(configFrom, offline, spec.commandLine().getErr())))) {
            var skipped = src.provenance().path("dropped_tensors");
            if (skipped.isArray() && !skipped.isEmpty()) {
                java.util.List<String> names = new java.util.ArrayList<>();
                skipped.forEach(n -> names.add(n.asText()));
                spec.commandLine().getErr().printf("sdj: warning: skipped %d integer buffer%s that no model reads: %s%n", names.size(),
                        names.size() == 1 ? "" : "s", io.sdj.core.Quote.capped(String.join(", ", names)));
            }
            r = ModelWriter.write(src, output, dt, force, null);
            spec.commandLine().getOut().printf("wrote %s: %s, %d tensors, %s (%s)%n", r.path(), String.join(" + ", src.components()),
                    r.tensors(), InfoCommand.bytes(r.bytes()), dt == null ? "source dtypes" : dt.name());
        }
        return 0;
    }
}
