package io.sdj.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.core.WeightSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads a model in an upstream layout into a {@link ModelSource} (zero-copy over memory-mapped safetensors), the same
 * view a flat {@link ModelFile} gives, so everything can also run straight from upstream files. Accepted sources:
 * <ul>
 *   <li>a diffusers pipeline folder ({@code model_index.json} + {@code unet/}, {@code text_encoder/}, {@code vae/},
 *       {@code tokenizer/}, {@code scheduler/} ...);</li>
 *   <li>a single-component folder ({@code config.json} + {@code *.safetensors}, or a sharded
 *       {@code *.safetensors.index.json});</li>
 *   <li>a single {@code .safetensors} file (F32/F16/BF16): an original LDM/CompVis SD 1.x/2.x checkpoint
 *       ({@code model.diffusion_model.*}, {@code first_stage_model.*}, {@code cond_stage_model.*}) is mapped to
 *       diffusers keys by {@link LdmCheckpoint}; anything else is one component (config from a sibling
 *       {@code config.json} when present);</li>
 *   <li>a sharded {@code *.safetensors.index.json}.</li>
 * </ul>
 * Pickled PyTorch checkpoints ({@code .ckpt}, {@code .bin}, {@code .pt}, {@code .pth}) are read like safetensors files
 * by {@link TorchCheckpoint}, which runs no code from them.
 */
public final class ModelImporter {
    private ModelImporter() {}

    /**
     * Import options. {@code component}: the component name for a single-component source (null = inferred from its
     * config); {@code configFrom}: a diffusers folder whose configs and tokenizer files replace the defaults of an LDM
     * checkpoint (null = built-in SD 1.x / 2.x defaults adjusted to the checkpoint's shapes).
     */
    public record Options(String component, Path configFrom) {
        public static final Options DEFAULT = new Options(null, null);
    }

    public static ModelSource importFrom(Path source) { return importFrom(source, Options.DEFAULT); }

    public static ModelSource importFrom(Path source, Options options) {
        if (!Files.exists(source)) throw new WeightsFormatException(source + ": no such file or directory");
        if (Files.isDirectory(source)) {
            if (Files.isRegularFile(source.resolve("model_index.json"))) return diffusersFolder(source);
            return componentFolder(source, options.component());
        }
        String name = source.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".index.json")) return singleComponent(source, options.component(), configBeside(source), "sharded-safetensors");
        if (name.endsWith(".safetensors") || TorchCheckpoint.isPickleName(source)) {
            TensorFile st = TensorFile.open(source);
            // importFrom owns (and on failure closes) the mapping
            if (LdmCheckpoint.isLdm(st.names())) return LdmCheckpoint.importFrom(st, source, options.configFrom());
            st.close();
            return singleComponent(source, options.component(), configBeside(source), st instanceof Safetensors ? "safetensors" : "torch-checkpoint");
        }
        throw new WeightsFormatException(source + ": not a diffusers folder, component folder, .safetensors or .safetensors.index.json");
    }

    // ---------------------------------------------------------------------------------------------------------------

    static JsonNode readJson(Path p) {
        try {
            return ModelFile.JSON.readTree(Files.readString(p));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new WeightsFormatException(p + ": malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new WeightsFormatException(p + ": cannot read: " + e, e);
        }
    }

    private static Path configBeside(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        Path c = dir.resolve("config.json");
        return Files.isRegularFile(c) ? c : null;
    }

    private static ObjectNode provenance(Path source, String format) {
        return JsonNodeFactory.instance.objectNode().put("source", source.toAbsolutePath().normalize().toString()).put("source_format", format);
    }

    /** The component name a config implies ({@code unet}, {@code vae}, {@code text_encoder}, {@code scheduler} ...), or null. */
    public static String componentOf(JsonNode config) {
        String cls = classOf(config);
        if (cls == null) return null;
        if (cls.equals("UNet2DConditionModel")) return "unet";
        if (cls.startsWith("Autoencoder")) return "vae";
        if (cls.endsWith("Scheduler")) return "scheduler";
        if (cls.startsWith("CLIPTextModel")) return "text_encoder";
        if (cls.equals("taesd.Decoder")) return "taesd_decoder";
        if (cls.equals("taesd.Encoder")) return "taesd_encoder";
        if (cls.equals("ControlNetModel")) return "controlnet";
        return null;
    }

    /** {@code _class_name}, else the first of {@code architectures}, else null. */
    static String classOf(JsonNode config) {
        if (config == null) return null;
        JsonNode c = config.get("_class_name");
        if (c != null && c.isTextual()) return c.asText();
        JsonNode a = config.get("architectures");
        if (a != null && a.isArray() && !a.isEmpty() && a.get(0).isTextual()) return a.get(0).asText();
        return null;
    }

    private static ModelSource componentFolder(Path dir, String component) {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) config = dir.resolve("scheduler_config.json");
        if (!Files.isRegularFile(config)) {
            throw new WeightsFormatException(dir + ": not a model folder (no model_index.json, config.json or scheduler_config.json)");
        }
        Path weights = weightsIn(dir, !config.getFileName().toString().equals("scheduler_config.json"));
        return singleComponent(weights == null ? dir : weights, component, config, weights == null ? "component-folder" : "component-folder");
    }

    /**
     * The weights file of a component folder: a {@code *.safetensors.index.json}, else {@code diffusion_pytorch_model.safetensors}
     * / {@code model.safetensors}, else the only {@code *.safetensors}; null when there is none and none is required.
     */
    static Path weightsIn(Path dir, boolean required) {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new WeightsFormatException(dir + ": cannot list: " + e, e);
        }
        for (String preferred : List.of("diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json",
                "diffusion_pytorch_model.safetensors", "model.safetensors")) {
            Path p = dir.resolve(preferred);
            if (files.contains(p)) return p;
        }
        List<Path> st = files.stream().filter(p -> p.getFileName().toString().endsWith(".safetensors.index.json")).toList();
        // a variant's sharding index: diffusion_pytorch_model.safetensors.index.fp16.json
        if (st.isEmpty()) st = files.stream().filter(p -> p.getFileName().toString().matches("[^.]+\\.safetensors\\.index\\.[^.]+\\.json")).toList();
        if (st.isEmpty()) st = files.stream().filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList();
        if (st.size() == 1) return st.getFirst();
        if (st.size() > 1) {
            throw new WeightsFormatException(dir + ": several weight files, cannot tell which to use: "
                    + st.stream().map(p -> p.getFileName().toString()).toList());
        }
        for (String preferred : List.of("diffusion_pytorch_model.bin", "pytorch_model.bin")) {
            Path p = dir.resolve(preferred);
            if (files.contains(p)) return p;
        }
        if (!required) return null;
        throw new WeightsFormatException(dir + ": no weights (.safetensors or diffusion_pytorch_model.bin / pytorch_model.bin)");
    }

    /** One component from a weights file (or null weights for config-only) and an optional config file. */
    private static ModelSource singleComponent(Path weights, String component, Path configPath, String format) {
        JsonNode config = configPath == null ? JsonNodeFactory.instance.objectNode() : readJson(configPath);
        ImportedModel m = null;
        try {
            String kind = classOf(config);
            ObjectNode prov = provenance(weights, format);
            WeightSource w = WeightMap.EMPTY;
            List<String> dropped = new ArrayList<>();
            ImportedModel tmp = new ImportedModel(kind == null ? "component" : kind, prov);
            m = tmp;
            if (!Files.isDirectory(weights)) w = openWeights(weights, tmp, dropped);
            String name = component != null ? component : componentOf(config);
            if (name == null) name = guessComponent(w);
            m.add(name, config, w);
            if (!dropped.isEmpty()) dropped(prov, dropped);
            return m;
        } catch (RuntimeException e) {
            if (m != null) m.close();
            throw e;
        }
    }

    /** Skipped integer buffers are recorded in the provenance ({@code convert} prints them as a warning). */
    private static void dropped(ObjectNode prov, List<String> names) {
        ArrayNode a = prov.putArray("dropped_tensors");
        for (String n : names) a.add(n);
    }

    /** A component name from the keys when the config does not say. */
    private static String guessComponent(WeightSource w) {
        boolean any = false;
        if (w.contains("1.weight") && w.contains("19.weight")) return "taesd_decoder";
        if (w.contains("0.weight") && w.contains("14.weight") && !w.contains("19.weight")) return "taesd_encoder";
        for (String n : w.names()) {
            if (n.startsWith("lora_unet_") || n.startsWith("lora_te_") || n.contains(".lora_A.") || n.contains(".lora_down.")) return "lora";
        }
        for (String n : w.names()) {
            any = true;
            if (n.startsWith("down_blocks.") || n.startsWith("conv_in.") && w.contains("time_embedding.linear_1.weight")) return "unet";
            if (n.startsWith("text_model.")) return "text_encoder";
            if (n.startsWith("decoder.") || n.startsWith("encoder.")) return "vae";
        }
        return any ? "model" : "model";
    }

    /**
     * Float tensors of a safetensors file or a sharded index, under their own names; the files are owned by
     * {@code owner}. Non-float tensors (I64 {@code position_ids} buffers of old exports) are skipped and listed in
     * {@code dropped}.
     */
    static WeightSource openWeights(Path file, ImportedModel owner, List<String> dropped) {
        WeightMap map = new WeightMap(file.toString());
        if (file.getFileName().toString().endsWith(".json")) {   // *.safetensors.index.json, or a variant's *.safetensors.index.fp16.json
            JsonNode idx = readJson(file);
            JsonNode wm = idx.get("weight_map");
            if (wm == null || !wm.isObject()) throw new WeightsFormatException(file + ": no \"weight_map\" object");
            Map<String, Safetensors> shards = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isTextual()) throw new WeightsFormatException(file + ": weight_map entry '" + e.getKey() + "' is not a file name");
                String shardName = e.getValue().asText();
                Path shardPath = file.toAbsolutePath().getParent().resolve(shardName);
                if (!shardPath.normalize().getParent().equals(file.toAbsolutePath().getParent().normalize())) {
                    throw new WeightsFormatException(file + ": shard '" + shardName + "' is outside the folder");
                }
                Safetensors shard = shards.computeIfAbsent(shardName, k -> owner.own(Safetensors.open(shardPath)));
                if (!shard.contains(e.getKey())) {
                    throw new WeightsFormatException(file + ": tensor '" + e.getKey() + "' is mapped to " + shardName + " which does not hold it");
                }
                addTensor(map, shard, e.getKey(), dropped);
            }
            for (Map.Entry<String, Safetensors> s : shards.entrySet()) {
                for (String n : s.getValue().names()) {
                    if (!map.contains(n) && !dropped.contains(n)) {  // dropped: integer buffers, by name
                        JsonNode mapped = wm.get(n);
                        throw new WeightsFormatException(file + ": shard " + s.getKey() + " holds tensor '" + n + "' which the index "
                                + (mapped == null ? "does not list" : "maps to " + mapped.asText()));
                    }
                }
            }
            return map;
        }
        TensorFile st = owner.own(TensorFile.open(file));
        for (String n : st.names()) addTensor(map, st, n, dropped);
        return map;
    }

    private static void addTensor(WeightMap map, TensorFile st, String name, List<String> dropped) {
        String dt = st.dtype(name);
        if (TensorFile.isFloat(dt)) map.put(name, () -> st.get(name));
        else if (isUnreadBuffer(name, dt)) dropped.add(name);
        else throw new WeightsFormatException(st.path() + ": tensor " + io.sdj.core.Quote.of(name) + " has dtype " + dt
                + ", which no model weight has (float weights are F32, F16, BF16, F8_E4M3 or F8_E5M2; only integer buffers "
                + "that no model reads, such as position_ids, are skipped)");
    }

    /** Integer bookkeeping buffers that exports carry and no model reads: skipped with a warning. */
    static boolean isUnreadBuffer(String name, String dtype) {
        boolean integer = switch (dtype) {
            case "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL" -> true;
            default -> false;
        };
        String last = name.substring(name.lastIndexOf('.') + 1);
        return integer && (last.equals("position_ids") || last.equals("num_batches_tracked") || last.equals("num_updates"));
    }

    private static final List<String> TOKENIZER_FILES = List.of("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json");

    /** Adds the tokenizer files of {@code dir} to {@code m}, prefixed with {@code prefix} ("" or "tokenizer_2/"). */
    static void addTokenizer(Path dir, String prefix, ImportedModel m) {
        for (String f : TOKENIZER_FILES) {
            Path p = dir.resolve(f);
            if (Files.isRegularFile(p)) {
                try {
                    m.tokenizerFile(prefix + f, Files.readString(p));
                } catch (IOException e) {
                    throw new WeightsFormatException(p + ": cannot read: " + e, e);
                }
            }
        }
    }

    /** Pipeline components sdj never reads; their folder may be absent (a {@code sdj pull} leaves them out). */
    static final java.util.Set<String> UNUSED_COMPONENTS = java.util.Set.of("safety_checker", "feature_extractor", "image_encoder");

    private static ModelSource diffusersFolder(Path dir) {
        JsonNode index = readJson(dir.resolve("model_index.json"));
        if (!index.isObject()) throw new WeightsFormatException(dir.resolve("model_index.json") + ": not a JSON object");
        String kind = classOf(index);
        ObjectNode prov = provenance(dir, "diffusers");
        ImportedModel m = new ImportedModel(kind == null ? "DiffusionPipeline" : kind, prov);
        try {
            List<String> skipped = new ArrayList<>();
            List<String> dropped = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = index.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode v = e.getValue();
                if (name.startsWith("_") || !v.isArray() || v.size() != 2 || v.get(1).isNull()) continue;
                Path sub = dir.resolve(name);
                if (!Files.isDirectory(sub) && UNUSED_COMPONENTS.contains(name)) {
                    skipped.add(name);   // e.g. left out by `sdj pull`: sdj never reads it
                    continue;
                }
                if (!Files.isDirectory(sub)) {
                    throw new WeightsFormatException(dir + ": model_index.json lists '" + name + "' but there is no " + name + "/ folder");
                }
                if (name.startsWith("tokenizer")) {
                    addTokenizer(sub, name.equals("tokenizer") ? "" : name + "/", m);
                    continue;
                }
                Path config = sub.resolve(Files.isRegularFile(sub.resolve("config.json")) ? "config.json" : "scheduler_config.json");
                if (!Files.isRegularFile(config)) {
                    skipped.add(name);
                    continue;
                }
                boolean isScheduler = config.getFileName().toString().equals("scheduler_config.json");
                Path weights = weightsIn(sub, !isScheduler);
                WeightSource w = weights == null ? WeightMap.EMPTY : openWeights(weights, m, dropped);
                m.add(name, readJson(config), w);
            }
            if (!skipped.isEmpty()) {
                ArrayNode a = prov.putArray("skipped_components");
                skipped.forEach(a::add);
            }
            if (!dropped.isEmpty()) dropped(prov, dropped);
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }
}
