package io.sdj.models.lora;

import io.sdj.core.WeightSource;
import io.sdj.core.WeightTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Several LoRAs, each with its multiplier, merged into a model's weights as they are read:
 * {@code W' = W + Σ multiplier · (alpha / rank) · (up @ down)} (convolutions: up [out, r, 1, 1] times down
 * [r, in, k, k] flattened, reshaped to W's shape). {@link #apply} wraps a part's {@link WeightSource}: a merged weight
 * is computed in float32 when a layer asks for it (a fresh array, dropped once the layer has packed it), so the
 * mapped model file is never written and the model's weights are never held twice. Modules are found by building
 * the key of every Linear/Conv2d weight of the model (kohya stems are not parsed: their underscores are ambiguous).
 */
public final class LoraMerge {
    /** One LoRA file and its multiplier. */
    public record Use(LoraFile file, float multiplier) {}

    private record Delta(LoraFile.Module module, float multiplier) {}

    private final List<Use> uses;
    private final Map<LoraFile.Module, String> matched = new java.util.IdentityHashMap<>();

    public LoraMerge(List<Use> uses) { this.uses = List.copyOf(uses); }

    public List<Use> uses() { return uses; }

    public boolean isEmpty() { return uses.isEmpty(); }

    /** {@code base} (the UNet's or the text encoder's weights) with the deltas of {@code part} merged on read. */
    public WeightSource apply(LoraFile.Part part, WeightSource base) {
        if (uses.isEmpty()) return base;
        Map<String, String> byStem = new HashMap<>();   // kohya stem → weight name
        for (String n : base.names()) {
            if (!n.endsWith(".weight")) continue;
            String module = n.substring(0, n.length() - ".weight".length());
            byStem.put(module.replace('.', '_'), n);
        }
        Map<String, List<Delta>> deltas = new LinkedHashMap<>();
        for (Use u : uses) {
            for (LoraFile.Module m : u.file().modules()) {
                if (m.part() != part) continue;
                String weight = m.kohya() ? byStem.get(m.target()) : base.contains(m.target() + ".weight") ? m.target() + ".weight" : null;
                if (weight == null) continue;
                checkShapes(u.file(), m, base.get(weight));
                matched.put(m, weight);
                deltas.computeIfAbsent(weight, k -> new ArrayList<>()).add(new Delta(m, u.multiplier()));
            }
        }
        return new WeightSource() {
            @Override
            public WeightTensor get(String name) {
                WeightTensor w = base.get(name);
                List<Delta> d = deltas.get(name);
                return d == null ? w : merge(w, d);
            }

            @Override public boolean contains(String name) { return base.contains(name); }

            @Override public Set<String> names() { return base.names(); }

            @Override public String origin() { return base.origin() + " + LoRA"; }
        };
    }

    private static void checkShapes(LoraFile f, LoraFile.Module m, WeightTensor w) {
        int[] ws = w.shape(), down = m.down().shape(), up = m.up().shape();
        long inK = 1;
        for (int i = 1; i < down.length; i++) inK *= down[i];
        long wIn = 1;
        for (int i = 1; i < ws.length; i++) wIn *= ws[i];
        boolean upOk = up.length == 2 || (up.length == 4 && up[2] == 1 && up[3] == 1);
        if (ws.length != down.length || !upOk || up[0] != ws[0] || inK != wIn) {
            throw new IllegalArgumentException("LoRA " + f.path() + ": module '" + m.key() + "': up " + Arrays.toString(up) + " @ down "
                    + Arrays.toString(down) + " does not fit the model's weight '" + w.name() + "' " + Arrays.toString(ws));
        }
    }

    /** W + Σ multiplier · ((up · alpha/r) @ down), in float32, in diffusers' order. */
    static WeightTensor merge(WeightTensor w, List<Delta> deltas) {
        float[] out = w.toFloats();
        int rows = w.dim(0);
        int cols = out.length / rows;
        for (Delta d : deltas) {
            LoraFile.Module m = d.module();
            int r = m.rank();
            float[] up = m.up().toFloats(), down = m.down().toFloats();
            float scale = m.scale();
            for (int i = 0; i < up.length; i++) up[i] *= scale;
            float mult = d.multiplier();
            float[] row = new float[cols];
            for (int o = 0; o < rows; o++) {
                Arrays.fill(row, 0f);
                for (int j = 0; j < r; j++) {
                    float u = up[o * r + j];
                    int base = j * cols;
                    for (int c = 0; c < cols; c++) row[c] += u * down[base + c];
                }
                int at = o * cols;
                for (int c = 0; c < cols; c++) out[at + c] += mult * row[c];
            }
        }
        return WeightTensor.ofFloats(w.name(), out, w.shape());
    }

    /** Modules of the files that matched no weight of the parts applied so far, as "file: key" (in file order). */
    public List<String> unmatched() {
        List<String> out = new ArrayList<>();
        for (Use u : uses) {
            for (LoraFile.Module m : u.file().modules()) if (!matched.containsKey(m)) out.add(u.file().name() + ": " + m.key());
            for (String k : u.file().unrecognized()) out.add(u.file().name() + ": " + k);
        }
        return out;
    }

    /** One line per LoRA with unmatched keys: count and the first few names; empty when everything matched. */
    public List<String> unmatchedReport() {
        List<String> lines = new ArrayList<>();
        for (Use u : uses) {
            List<String> miss = new ArrayList<>();
            for (LoraFile.Module m : u.file().modules()) if (!matched.containsKey(m)) miss.add(m.key());
            miss.addAll(u.file().unrecognized());
            if (!miss.isEmpty()) {
                int total = u.file().modules().size() + u.file().unrecognized().size();
                lines.add("LoRA " + u.file().name() + ": " + miss.size() + " of " + total + " entries match no module of the model and were not applied, e.g. "
                        + String.join(", ", miss.subList(0, Math.min(5, miss.size()))));
            }
        }
        return lines;
    }

    /** Closes every file (after the model has packed its weights). */
    public void closeFiles() {
        for (Use u : uses) u.file().close();
    }
}
