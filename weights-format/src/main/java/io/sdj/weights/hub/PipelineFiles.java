package io.sdj.weights.hub;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which files of a repository sdj needs. A diffusers pipeline ({@code model_index.json}): that file and, for each
 * component sdj reads ({@code unet}, {@code vae}, {@code text_encoder}, {@code tokenizer}, {@code scheduler}), the
 * files directly in its folder — configs, tokenizer files and the {@code .safetensors} weights (with their sharding
 * index): the {@code variant} ones ({@code *.fp16.safetensors}, {@code *.safetensors.index.fp16.json}) when asked
 * for and present, else the plain ones; only where a component has no safetensors at all, its pickled
 * {@code diffusion_pytorch_model.bin} / {@code pytorch_model.bin}. Other components (safety checker, feature extractor,
 * image encoder) and other weight formats ({@code .ckpt}, ONNX, Flax) are left out. A component repository ({@code config.json}
 * at the top) is one such folder.
 */
public final class PipelineFiles {
    /** The pipeline components sdj reads. */
    public static final Set<String> USED = Set.of("unet", "vae", "text_encoder", "tokenizer", "scheduler");
    private static final Set<String> WEIGHTLESS = Set.of("tokenizer", "scheduler");
    private static final Pattern VARIANT_WEIGHTS = Pattern.compile("[^.]+\\.([^.]+?)(-\\d{5}-of-\\d{5})?\\.safetensors");
    private static final Pattern VARIANT_INDEX = Pattern.compile("[^.]+\\.safetensors\\.index\\.([^.]+)\\.json");
    private static final List<String> OTHER_WEIGHTS = List.of(".bin", ".ckpt", ".pt", ".pth", ".onnx", ".onnx_data", ".pb",
            ".msgpack", ".h5", ".ot", ".gguf", ".pkl", ".npz", ".tflite", ".mlmodel", ".xml");

    private PipelineFiles() {}

    /**
     * The files to fetch for a diffusers pipeline whose {@code model_index.json} is {@code index}, out of
     * {@code files} (repository paths); throws naming the component when one sdj needs has no safetensors weights.
     */
    public static List<String> forPipeline(String repo, JsonNode index, Collection<String> files, String variant) {
        Set<String> out = new LinkedHashSet<>();
        out.add("model_index.json");
        for (String component : components(index)) {
            if (!USED.contains(component)) continue;
            out.addAll(forFolder(repo, component + "/", component, files, variant));
        }
        return List.copyOf(out);
    }

    /** The files of one component folder ({@code prefix} "" for a component repository). */
    public static List<String> forFolder(String repo, String prefix, String component, Collection<String> files, String variant) {
        List<String> other = new ArrayList<>(), plain = new ArrayList<>(), variants = new ArrayList<>(), unreadable = new ArrayList<>();
        for (String f : files) {
            if (!f.startsWith(prefix)) continue;
            String name = f.substring(prefix.length());
            if (name.isEmpty() || name.contains("/") || name.startsWith(".")) continue;
            String lower = name.toLowerCase(Locale.ROOT);
            String v = variantOf(name);
            if (lower.endsWith(".safetensors") || lower.endsWith(".safetensors.index.json") || VARIANT_INDEX.matcher(name).matches()) {
                if (v == null) plain.add(f);
                else if (v.equals(variant)) variants.add(f);
            } else if (lower.endsWith(".index.json") || OTHER_WEIGHTS.stream().anyMatch(lower::endsWith)) {
                unreadable.add(name);
            } else if (!lower.equals("readme.md") && !lower.equals(".gitattributes")) {
                other.add(f);
            }
        }
        List<String> out = new ArrayList<>(other);
        boolean needsWeights = !WEIGHTLESS.contains(component);
        if (!variants.isEmpty()) out.addAll(variants);
        else if (!plain.isEmpty()) out.addAll(plain);
        else if (needsWeights) {
            // only other variants: take them when there is exactly one kind (sdj reads fp16 and bf16 alike)
            Set<String> kinds = new LinkedHashSet<>();
            List<String> all = new ArrayList<>();
            for (String f : files) {
                if (!f.startsWith(prefix) || f.substring(prefix.length()).contains("/")) continue;
                String name = f.substring(prefix.length());
                String v = variantOf(name);
                if (v != null && (name.endsWith(".safetensors") || VARIANT_INDEX.matcher(name).matches())) {
                    kinds.add(v);
                    all.add(f);
                }
            }
            List<String> pickled = new ArrayList<>();
            for (String name : List.of("diffusion_pytorch_model.bin", "pytorch_model.bin")) {
                if (files.contains(prefix + name)) {
                    pickled.add(prefix + name);
                    break;
                }
            }
            if (kinds.size() == 1) {
                out.addAll(all);
            } else if (!pickled.isEmpty()) {
                out.addAll(pickled);   // read without running code (TorchCheckpoint)
            } else {
                String where = prefix.isEmpty() ? repo : repo + ": " + component;
                throw new HubException(where + " has no weights sdj can read (.safetensors, or a pickled diffusion_pytorch_model.bin / pytorch_model.bin)"
                        + (kinds.isEmpty() ? "" : " without --variant (it has the variants " + kinds + ")")
                        + (unreadable.isEmpty() ? "" : " (it has " + unreadable + ")"));
            }
        }
        if (out.isEmpty() && !prefix.isEmpty()) throw new HubException(repo + ": the folder " + prefix + " is missing or empty");
        return out;
    }

    /** The variant a weights file name carries ({@code fp16} of {@code model.fp16.safetensors}), or null. */
    static String variantOf(String name) {
        Matcher m = VARIANT_INDEX.matcher(name);
        if (m.matches()) return m.group(1);
        m = VARIANT_WEIGHTS.matcher(name);
        if (m.matches() && !m.group(1).equals("safetensors")) return m.group(1);
        return null;
    }

    /** The component names {@code model_index.json} lists with a class (not the {@code _} keys, not {@code [null, null]}). */
    public static List<String> components(JsonNode index) {
        List<String> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = index.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (e.getKey().startsWith("_") || !v.isArray() || v.size() != 2 || v.get(1).isNull()) continue;
            out.add(e.getKey());
        }
        return out;
    }

    /** The files matching any of {@code globs} ({@code fnmatch} rules as {@code huggingface_hub} uses: {@code *} crosses folders). */
    public static List<String> matching(Collection<String> files, List<String> globs) {
        List<Pattern> ps = globs.stream().map(PipelineFiles::globToRegex).toList();
        return files.stream().filter(f -> ps.stream().anyMatch(p -> p.matcher(f).matches())).toList();
    }

    static Pattern globToRegex(String glob) {
        StringBuilder r = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            switch (c) {
                case '*' -> r.append(".*");
                case '?' -> r.append('.');
                case '[' -> {
                    int end = glob.indexOf(']', i + 1);
                    if (end < 0) {
                        r.append("\\[");
                    } else {
                        String body = glob.substring(i + 1, end);
                        if (body.startsWith("!")) body = "^" + body.substring(1);
                        r.append('[').append(body.replace("\\", "\\\\")).append(']');
                        i = end;
                    }
                }
                default -> r.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(r.toString());
    }
}
