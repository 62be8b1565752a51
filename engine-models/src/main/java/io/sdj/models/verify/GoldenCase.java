package io.sdj.models.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One reference case directory (see the golden fixtures' README): {@code case.json} with the component, the runs and
 * the tolerances, beside {@code config.json}, {@code model.safetensors}, {@code inputs/outputs/intermediates.safetensors}.
 */
public record GoldenCase(Path dir, String name, String component, JsonNode json) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static GoldenCase load(Path dir) {
        Path file = dir.resolve("case.json");
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(dir + ": not a reference case (no case.json)");
        try {
            JsonNode j = JSON.readTree(file.toFile());
            return new GoldenCase(dir, dir.getFileName().toString(), j.path("component").asText(), j);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The tolerance of an output: {@code tolerance.per_output[name]} when present, else the top-level pair. */
    public Tolerance tolerance(String output) {
        JsonNode t = json.path("tolerance");
        JsonNode p = t.path("per_output").path(output);
        JsonNode src = p.isMissingNode() ? t : p;
        return new Tolerance(src.path("max_abs").asDouble(), src.path("rel_l2").asDouble());
    }

    /** Names of the runs ("r0", "r1", ...), or an empty list when the case has none. */
    public List<String> runNames() {
        List<String> names = new ArrayList<>();
        for (JsonNode r : json.path("runs")) names.add(r.path("name").asText());
        return names;
    }

    /** The arguments of one run. */
    public JsonNode run(String name) {
        for (JsonNode r : json.path("runs")) if (r.path("name").asText().equals(name)) return r;
        throw new IllegalArgumentException(dir + ": no run named '" + name + "'");
    }

    public Path file(String name) { return dir.resolve(name); }

    /** The golden directory: {@code -Dgolden.dir}, else {@code ../shared/golden}. */
    public static Path goldenDir() {
        return Path.of(System.getProperty("golden.dir", "../shared/golden"));
    }
}
