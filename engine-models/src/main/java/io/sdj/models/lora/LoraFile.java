package io.sdj.models.lora;

import io.sdj.core.WeightTensor;
import io.sdj.weights.Safetensors;
import io.sdj.weights.TensorFile;
import io.sdj.weights.WeightsFormatException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A LoRA file (safetensors, or a pickled {@code .pt}/{@code .ckpt} read by the safe checkpoint reader), split into its
 * modules. Two layouts are understood (see the golden README, "LoRA"):
 * <ul>
 *   <li>kohya-ss / A1111: {@code lora_unet_<P with . → _>} and {@code lora_te_<P with . → _>} stems with
 *       {@code .lora_down.weight}, {@code .lora_up.weight} and an optional 0-d or 1-element {@code .alpha};</li>
 *   <li>PEFT / diffusers: {@code unet.<P>.lora_A.weight} (down) and {@code .lora_B.weight} (up), likewise
 *       {@code text_encoder.<P>}; no alpha (alpha = rank). The older diffusers spellings ({@code .lora.down/.lora.up},
 *       {@code .lora_linear_layer.down/up}, {@code attn1.processor.to_q_lora.down} for {@code attn1.to_q}) are read
 *       too.</li>
 * </ul>
 * Keys of any other form are kept in {@link #unrecognized()} so that they can be reported.
 */
public final class LoraFile implements AutoCloseable {
    /** Which model a module belongs to. */
    public enum Part { UNET, TEXT_ENCODER }

    /**
     * One low-rank update: {@code key} is the file's stem, {@code target} the kohya stem (without the part prefix,
     * underscores for dots) or the PEFT module path; alpha is null when the file has none (then alpha = rank).
     */
    public record Module(Part part, String key, String target, boolean kohya, WeightTensor down, WeightTensor up, Float alpha) {
        public int rank() { return down.dim(0); }

        /** alpha / rank. */
        public float scale() { return alpha == null ? 1f : alpha / rank(); }
    }

    private final Path path;
    private final String name;
    private final TensorFile file;
    private final List<Module> modules;
    private final List<String> unrecognized;
    private final String shortHash;

    private LoraFile(Path path, TensorFile file, List<Module> modules, List<String> unrecognized, String shortHash) {
        this.path = path;
        this.name = stem(path);
        this.file = file;
        this.modules = modules;
        this.unrecognized = unrecognized;
        this.shortHash = shortHash;
    }

    /** The file name without its extension: the name A1111 prompts use ({@code <lora:name:0.8>}). */
    public static String stem(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    public static LoraFile open(Path path) {
        if (!Files.isRegularFile(path)) throw new IllegalArgumentException("LoRA file not found: " + path);
        TensorFile f;
        try {
            f = TensorFile.open(path);
        } catch (WeightsFormatException e) {
            throw new IllegalArgumentException("cannot read LoRA " + path + ": " + e.getMessage(), e);
        }
        try {
            Map<String, String[]> stems = new LinkedHashMap<>();   // stem → {down, up, alpha} key names
            Map<String, Part> parts = new LinkedHashMap<>();
            Map<String, Boolean> kohya = new LinkedHashMap<>();
            List<String> unknown = new ArrayList<>();
            for (String k : f.names()) {
                String[] split = split(k);
                if (split == null) { unknown.add(k); continue; }
                String stem = split[0];
                int slot = Integer.parseInt(split[1]);
                Part part;
                if (stem.startsWith("lora_unet_")) { part = Part.UNET; kohya.put(stem, true); }
                else if (stem.startsWith("lora_te_")) { part = Part.TEXT_ENCODER; kohya.put(stem, true); }
                else if (stem.startsWith("unet.")) { part = Part.UNET; kohya.put(stem, false); }
                else if (stem.startsWith("text_encoder.")) { part = Part.TEXT_ENCODER; kohya.put(stem, false); }
                else { unknown.add(k); continue; }
                parts.put(stem, part);
                stems.computeIfAbsent(stem, s -> new String[3])[slot] = k;
            }
            List<Module> modules = new ArrayList<>();
            for (Map.Entry<String, String[]> e : stems.entrySet()) {
                String stem = e.getKey();
                String[] keys = e.getValue();
                if (keys[0] == null || keys[1] == null) {
                    for (String k : keys) if (k != null) unknown.add(k + " (no matching " + (keys[0] == null ? "down" : "up") + " weight)");
                    continue;
                }
                boolean isKohya = kohya.get(stem);
                WeightTensor down = floatTensor(f, keys[0], path), up = floatTensor(f, keys[1], path);
                Float alpha = null;
                if (keys[2] != null) {
                    WeightTensor a = floatTensor(f, keys[2], path);
                    if (a.numel() != 1) throw new IllegalArgumentException("LoRA " + path + ": '" + keys[2] + "' has " + a.numel() + " elements, expected one");
                    alpha = a.get(0);
                }
                String target = isKohya ? stem.substring(stem.startsWith("lora_unet_") ? "lora_unet_".length() : "lora_te_".length())
                        : modulePath(stem.substring(stem.indexOf('.') + 1));
                int rDown = down.dim(0), rUp = up.shape().length >= 2 ? up.dim(1) : -1;
                if ((down.shape().length != 2 && down.shape().length != 4) || (up.shape().length != 2 && up.shape().length != 4) || rDown != rUp) {
                    throw new IllegalArgumentException("LoRA " + path + ": module '" + stem + "': down " + java.util.Arrays.toString(down.shape())
                            + " and up " + java.util.Arrays.toString(up.shape()) + " are not a low-rank pair");
                }
                modules.add(new Module(parts.get(stem), stem, target, isKohya, down, up, alpha));
            }
            return new LoraFile(path, f, Collections.unmodifiableList(modules), Collections.unmodifiableList(unknown), shortHash(path, f));
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private static final String[][] SUFFIXES = {
            {".lora_down.weight", "0"}, {".lora_up.weight", "1"}, {".alpha", "2"},
            {".lora_A.weight", "0"}, {".lora_B.weight", "1"},
            {".lora.down.weight", "0"}, {".lora.up.weight", "1"},
            {".lora_linear_layer.down.weight", "0"}, {".lora_linear_layer.up.weight", "1"}};

    /** diffusers' attention-processor spelling: {@code attn1.processor.to_q_lora} is the module {@code attn1.to_q}. */
    private static final java.util.regex.Pattern PROCESSOR = java.util.regex.Pattern.compile("\\.processor\\.(to_q|to_k|to_v|to_out)_lora$");

    /** The module path of a diffusers/PEFT stem (without its part prefix). */
    static String modulePath(String stemWithoutPart) {
        java.util.regex.Matcher m = PROCESSOR.matcher(stemWithoutPart);
        if (!m.find()) return stemWithoutPart;
        String proj = m.group(1).equals("to_out") ? "to_out.0" : m.group(1);
        return stemWithoutPart.substring(0, m.start()) + "." + proj;
    }

    /** {stem, slot (0 down, 1 up, 2 alpha)} or null. */
    private static String[] split(String key) {
        for (String[] s : SUFFIXES) if (key.endsWith(s[0])) return new String[]{key.substring(0, key.length() - s[0].length()), s[1]};
        return null;
    }

    private static WeightTensor floatTensor(TensorFile f, String key, Path path) {
        if (!TensorFile.isFloat(f.dtype(key))) throw new IllegalArgumentException("LoRA " + path + ": '" + key + "' has dtype " + f.dtype(key) + ", expected F32, F16 or BF16");
        return f.get(key);
    }

    /**
     * The first 12 hex digits of A1111's LoRA hash: the SHA-256 of a safetensors file's bytes after its header (the
     * "addnet" hash kohya also stores as {@code sshs_model_hash}), of the whole file for other formats.
     */
    static String shortHash(Path path, TensorFile f) {
        try (InputStream in = Files.newInputStream(path)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            if (f instanceof Safetensors) {
                byte[] len = in.readNBytes(8);
                long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
                in.skipNBytes(n);
            }
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) d.update(buf, 0, r);
            return HexFormat.of().formatHex(d.digest()).substring(0, 12);
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new IllegalArgumentException("cannot hash LoRA " + path + ": " + e.getMessage(), e);
        }
    }

    public Path path() { return path; }

    /** The name prompts and the PNG parameters use (the file name without extension). */
    public String name() { return name; }

    /** A1111's short hash (12 hex digits). */
    public String shortHash() { return shortHash; }

    public List<Module> modules() { return modules; }

    /** Keys that are not part of any LoRA module this reader understands. */
    public List<String> unrecognized() { return unrecognized; }

    @Override
    public void close() { file.close(); }
}
