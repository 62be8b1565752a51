package io.sdj.weights.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * A model argument → a local path. A path that exists is used as it is; otherwise a hub id ({@link HubReference}) is
 * looked up in the cache and pulled on first use: a whole pipeline becomes its {@code snapshots/<commit>} folder, a
 * single file its snapshot entry. Once a revision's files are in the cache they are used without asking the hub
 * again ({@code sdj pull} is what checks for updates); offline, a missing file is an error that names it.
 */
public final class HubModels {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param variant  weights variant to prefer ({@code fp16}), or null
     * @param include  when not empty, exactly the repository files matching these globs
     */
    public record Options(String variant, List<String> include, DownloadProgress progress, BooleanSupplier cancelled) {
        public Options {
            include = include == null ? List.of() : List.copyOf(include);
            if (progress == null) progress = DownloadProgress.NONE;
            if (cancelled == null) cancelled = () -> false;
        }

        public static Options withProgress(DownloadProgress p) { return new Options(null, List.of(), p, null); }
    }

    /** What a pull left in the cache. */
    public record Pulled(HubReference reference, String commit, Path path, List<String> files) {}

    private final HubClient client;

    public HubModels(HubEnvironment env) { this.client = new HubClient(env); }

    public HubClient client() { return client; }

    /** Whether {@code model} is an existing local path (then it is not treated as a hub id). */
    public static boolean isLocal(String model) {
        try {
            return Files.exists(Path.of(model));
        } catch (InvalidPathException e) {
            return false;
        }
    }

    /**
     * {@code model} as a local path: itself when it exists, else the cached (pulled if needed) hub model it names;
     * a string that is neither comes back as a path, for the caller's "not found" message.
     */
    public Path resolve(String model, Options options) {
        if (isLocal(model)) return Path.of(model);
        Optional<HubReference> ref = HubReference.parse(model);
        if (ref.isEmpty()) {
            try {
                return Path.of(model);
            } catch (InvalidPathException e) {
                throw new HubException("model '" + model + "' is neither a file nor a hub id (org/name)");
            }
        }
        Path cached = cached(ref.get(), options);
        if (cached != null) return cached;
        try {
            return pull(ref.get(), options).path();
        } catch (HubException e) {
            if (!e.getMessage().contains("HTTP 401") && !e.getMessage().contains("no such repository")) throw e;
            // most likely a mistyped local path that happens to look like org/name
            throw new HubException("model '" + model + "' is no local file or folder, and as a hub id: " + e.getMessage(), e);
        }
    }

    /** The cached copy of {@code ref} when everything sdj needs of it is there, else null (offline: an error naming what is missing). */
    public Path cached(HubReference ref, Options options) {
        HubCache cache = client.cache();
        String commit = cache.commitOf(ref.repo(), ref.revision());
        if (ref.file() != null) {
            Path p = commit == null ? null : cache.pointer(ref.repo(), commit, ref.file());
            if (p != null && Files.isRegularFile(p)) return p;
            if (client.environment().offline()) {
                throw new HubException(ref + " is not in the cache " + cache.root() + " and offline mode (--offline / HF_HUB_OFFLINE) forbids downloading it");
            }
            return null;
        }
        List<String> missing = commit == null ? List.of("everything (no snapshot of revision '" + ref.revision() + "')")
                : missing(ref.repo(), commit, options);
        if (missing.isEmpty()) return cache.snapshot(ref.repo(), commit);
        if (client.environment().offline()) {
            throw new HubException(ref + " is not complete in the cache " + cache.root() + " and offline mode (--offline / HF_HUB_OFFLINE) "
                    + "forbids downloading; missing: " + String.join(", ", missing));
        }
        return null;
    }

    /** What a cached snapshot lacks for sdj: descriptions of the missing files, empty when complete. */
    List<String> missing(String repo, String commit, Options options) {
        HubCache cache = client.cache();
        List<String> present = cache.snapshotFiles(repo, commit);
        if (!options.include().isEmpty()) {
            return PipelineFiles.matching(present, options.include()).isEmpty() ? List.of("files matching " + options.include()) : List.of();
        }
        List<String> out = new ArrayList<>();
        if (present.contains("model_index.json")) {
            JsonNode index = readJson(cache.pointer(repo, commit, "model_index.json"));
            for (String c : PipelineFiles.components(index)) {
                if (!PipelineFiles.USED.contains(c)) continue;
                boolean any = present.stream().anyMatch(f -> f.startsWith(c + "/"));
                if (!any) {
                    out.add(c + "/");
                    continue;
                }
                switch (c) {
                    case "tokenizer" -> {
                        for (String f : List.of("vocab.json", "merges.txt")) if (!present.contains(c + "/" + f)) out.add(c + "/" + f);
                    }
                    case "scheduler" -> {
                        if (!present.contains(c + "/scheduler_config.json")) out.add(c + "/scheduler_config.json");
                    }
                    default -> {
                        if (!present.contains(c + "/config.json")) out.add(c + "/config.json");
                        if (present.stream().noneMatch(f -> f.startsWith(c + "/") && (f.endsWith(".safetensors")
                                || f.equals(c + "/diffusion_pytorch_model.bin") || f.equals(c + "/pytorch_model.bin")))) {
                            out.add(c + "/*.safetensors");
                        }
                        else out.addAll(missingShards(repo, commit, c + "/", present));
                    }
                }
            }
        } else if (present.contains("config.json")) {
            if (present.stream().noneMatch(f -> !f.contains("/") && f.endsWith(".safetensors"))) out.add("*.safetensors");
            else out.addAll(missingShards(repo, commit, "", present));
        } else {
            out.add("model_index.json");
        }
        return out;
    }

    /** Shards a cached sharding index names that are not cached. */
    private List<String> missingShards(String repo, String commit, String prefix, List<String> present) {
        List<String> out = new ArrayList<>();
        for (String f : present) {
            if (!f.startsWith(prefix) || f.substring(prefix.length()).contains("/") || !f.contains(".safetensors.index")) continue;
            JsonNode map = readJson(client.cache().pointer(repo, commit, f)).path("weight_map");
            map.forEach(shard -> {
                String s = prefix + shard.asText();
                if (!present.contains(s) && !out.contains(s)) out.add(s);
            });
        }
        return out;
    }

    /** Downloads what sdj needs of {@code ref} (or the files matching {@code include}) into the cache. */
    public Pulled pull(HubReference ref, Options o) {
        HubCache cache = client.cache();
        if (ref.file() != null) {
            Path p = client.download(ref.repo(), ref.revision(), ref.file(), o.progress(), o.cancelled());
            String commit = cache.commitOf(ref.repo(), ref.revision());
            return new Pulled(ref, commit, p, List.of(ref.file()));
        }
        if (client.environment().offline()) {
            Path p = cached(ref, o);
            String commit = cache.commitOf(ref.repo(), ref.revision());
            return new Pulled(ref, commit, p, cache.snapshotFiles(ref.repo(), commit));
        }
        RepoListing listing = client.listing(ref.repo(), ref.revision());
        String commit = listing.commit();
        List<String> files;
        if (!o.include().isEmpty()) {
            files = PipelineFiles.matching(listing.paths(), o.include());
            if (files.isEmpty()) throw new HubException(ref + ": no file matches " + o.include() + " (it has " + listing.paths().size() + " files)");
        } else if (listing.paths().contains("model_index.json")) {
            Path index = client.download(ref.repo(), commit, "model_index.json", o.progress(), o.cancelled());
            files = PipelineFiles.forPipeline(ref.repo(), readJson(index), listing.paths(), o.variant());
        } else if (listing.paths().contains("config.json")) {
            files = PipelineFiles.forFolder(ref.repo(), "", "component", listing.paths(), o.variant());
        } else {
            throw new HubException(ref + " is neither a diffusers pipeline (no model_index.json) nor a model folder (no config.json); "
                    + "pull one file with " + ref.repo() + "/<path> or choose files with --include");
        }
        cache.writeRef(ref.repo(), ref.revision(), commit);
        for (String f : files) client.download(ref.repo(), commit, f, o.progress(), o.cancelled());
        return new Pulled(ref, commit, cache.snapshot(ref.repo(), commit), files);
    }

    private static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(Files.readString(p));
        } catch (IOException e) {
            throw new HubException(p + ": cannot read JSON: " + e.getMessage(), e);
        }
    }
}
