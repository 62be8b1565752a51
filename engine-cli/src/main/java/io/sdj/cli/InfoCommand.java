package io.sdj.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.core.DType;
import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;
import io.sdj.weights.ModelFile;
import io.sdj.weights.ModelImporter;
import io.sdj.weights.ModelSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code sdj info}: what a model file holds; {@code --check} verifies every tensor's CRC32C. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Show a model's components, config summary, parameter counts, dtypes and size.",
                "FILE is an sdj flat file (or any source `sdj convert` accepts)."})
public final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "a model path, or a hub id org/name[@revision][/file] (pulled on first use)")
    String model;

    @Option(names = "--offline", description = "never use the network: a hub id must be in the cache (also HF_HUB_OFFLINE=1)")
    boolean offline;

    @Option(names = "--check", description = "verify every tensor's CRC32C; names each corrupted tensor and exits 1")
    boolean check;

    private static final Map<String, List<String>> SUMMARY_KEYS = Map.of(
            "unet", List.of("in_channels", "block_out_channels", "layers_per_block", "cross_attention_dim", "attention_head_dim", "use_linear_projection", "time_cond_proj_dim", "sample_size"),
            "text_encoder", List.of("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act", "vocab_size"),
            "vae", List.of("block_out_channels", "latent_channels", "layers_per_block", "scaling_factor"),
            "scheduler", List.of("prediction_type", "beta_schedule", "num_train_timesteps", "timestep_spacing"));

    static String bytes(long b) {
        if (b < 1024) return b + " B";
        if (b < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        if (b < 1024L * 1024 * 1024) return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
        return String.format(Locale.ROOT, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    }

    /** Regular files are read as flat files unless they are an upstream format the importer reads. */
    private static boolean isFlat(Path p) {
        if (!Files.isRegularFile(p)) return false;
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return !(n.endsWith(".safetensors") || n.endsWith(".index.json") || io.sdj.weights.TorchCheckpoint.isPickleName(p));
    }

    /**
     * The heap a 512×512 decode needs, estimated from the VAE's widest full-resolution layer: about four tensors of
     * that width (input, output, norm and residual) are alive at once.
     */
    static String activationEstimate(ModelSource m) {
        if (!m.components().contains("vae")) return "";
        JsonNode b = m.config("vae").path("block_out_channels");
        int widest = b.isArray() && !b.isEmpty() ? b.get(0).asInt(128) : 128;
        long bytes = 4L * widest * 512 * 512 * Float.BYTES;
        return String.format(java.util.Locale.ROOT, ", plus about %s of heap for activations at 512×512 (-Xmx; the VAE decode peaks "
                + "at about four %d-channel 512×512 tensors)", bytes(bytes), widest);
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path file = ModelArgument.resolve(model, offline, err);
        if (!Files.exists(file)) throw new IllegalArgumentException(file + ": no such file or directory");
        boolean flat = isFlat(file);
        if (check && !flat) throw new IllegalArgumentException(file + ": --check needs an sdj flat file (only those carry checksums)");
        try (ModelSource m = flat ? ModelFile.open(file) : ModelImporter.importFrom(file)) {
            if (flat) out.printf("%s: sdj flat model file, %s on disk%n", file, bytes(Files.size(file)));
            else out.printf("%s: %s (not converted)%n", file, m.provenance().path("source_format").asText("model"));
            out.printf("kind: %s%n", m.kind());
            JsonNode prov = m.provenance();
            StringBuilder p = new StringBuilder();
            for (String k : List.of("source_format", "detected", "dtype", "converter", "source", "config_origin")) {
                if (prov.hasNonNull(k)) p.append(p.isEmpty() ? "" : ", ").append(k).append('=').append(prov.get(k).asText());
            }
            if (!p.isEmpty()) out.printf("provenance: %s%n", p);
            if (!m.tokenizerFiles().isEmpty()) {
                StringBuilder t = new StringBuilder();
                m.tokenizerFiles().forEach((k, v) -> t.append(t.isEmpty() ? "" : ", ").append(k).append(" (").append(bytes(v.length())).append(')'));
                out.printf("tokenizer: %s%n", t);
            }
            long totalParams = 0, totalBytes = 0;
            for (String c : m.components()) {
                JsonNode cfg = m.config(c);
                WeightSource w = m.weights(c);
                long params = 0, stored = 0;
                Map<DType, Integer> dtypes = new TreeMap<>();
                for (String n : w.names()) {
                    WeightTensor t = w.get(n);
                    params += t.numel();
                    stored += t.data().byteSize() + (t.scales() == null ? 0 : 4L * t.scales().length);
                    dtypes.merge(t.dtype(), 1, Integer::sum);
                }
                totalParams += params;
                totalBytes += stored;
                String cls = cfg.hasNonNull("_class_name") ? cfg.get("_class_name").asText()
                        : cfg.path("architectures").path(0).asText(cfg.path("model_type").asText("?"));
                StringBuilder d = new StringBuilder();
                dtypes.forEach((k, v) -> d.append(d.isEmpty() ? "" : " ").append(k).append('×').append(v));
                out.printf("%-14s %-24s %6d tensors %,15d params %10s  %s%n", c, cls, w.names().size(), params, bytes(stored), d);
                StringBuilder s = new StringBuilder();
                for (String k : SUMMARY_KEYS.getOrDefault(c, List.of())) {
                    if (cfg.has(k) && !cfg.get(k).isNull()) s.append(s.isEmpty() ? "" : ", ").append(k).append('=').append(cfg.get(k));
                }
                if (!s.isEmpty()) out.printf("  %s%n", s);
            }
            out.printf("total: %,d parameters, %s of tensor data%n", totalParams, bytes(totalBytes));
            long packed = io.sdj.models.pipeline.PipelineLoader.packedWeightBytes(m);
            long winograd = io.sdj.models.pipeline.PipelineLoader.winogradWeightBytes(m);
            out.printf("memory to run: up to %s off-heap for the packed weights (3×3 convolutions that only run as Winograd"
                            + " convolutions are not packed)%s (direct memory, -XX:MaxDirectMemorySize; ./sdj lifts the limit)%s%n",
                    bytes(packed), winograd == 0 ? "" : ", plus up to " + bytes(winograd) + " for the Winograd forms of the 3×3 convolutions"
                            + " made on first use (fewer at small sizes; -Dsdj.conv=direct: none, slower)", activationEstimate(m));
            if (check) {
                ModelFile mf = (ModelFile) m;
                List<ModelFile.ChecksumMismatch> bad = mf.verify();
                if (!bad.isEmpty()) {
                    for (ModelFile.ChecksumMismatch b : bad) err.println("sdj: " + b.message(file));
                    err.printf("sdj: %s: %d of %d tensors corrupted%n", file, bad.size(), mf.tensors().size());
                    return 1;
                }
                out.printf("check: all %d tensors match their CRC32C%n", mf.tensors().size());
                out.println(mf.headerChecksummed()
                        ? "check: header (configs, tokenizer files, tensor table) matches its CRC32C"
                        : "check: header unchecked: format version " + mf.formatVersion() + " has no header checksum (reconvert to get one)");
            }
        }
        return 0;
    }
}
