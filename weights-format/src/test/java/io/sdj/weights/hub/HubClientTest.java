package io.sdj.weights.hub;

import io.sdj.weights.ModelImporter;
import io.sdj.weights.ModelSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The hub client end to end against {@link FakeHub} on loopback, serving the golden tiny diffusers pipeline (plus the
 * files a real repository carries that sdj must leave alone) the way the hub does.
 */
class HubClientTest {
    static final String REPO = "sdj-test/tiny-sd";
    static final String UNET = "unet/diffusion_pytorch_model.safetensors";
    static final String VAE = "vae/diffusion_pytorch_model.safetensors";

    @TempDir
    Path tmp;
    FakeHub hub;
    Path cache;

    /** The golden pipeline's files, with a model_index.json that lists a safety checker and feature extractor, and extras. */
    static Map<String, byte[]> repositoryTree() throws IOException {
        Path golden = Path.of(System.getProperty("golden.dir", "../shared/golden")).resolve("pipeline-sd1-tiny");
        assumeTrue(Files.isDirectory(golden), "golden case pipeline-sd1-tiny not found at " + golden.toAbsolutePath());
        Map<String, byte[]> t = new HashMap<>();
        for (Map.Entry<String, byte[]> e : FakeHub.tree(golden).entrySet()) {
            if (e.getKey().contains("/") || e.getKey().equals("model_index.json")) t.put(e.getKey(), e.getValue());
        }
        String index = new String(t.get("model_index.json"), StandardCharsets.UTF_8)
                .replaceFirst("\"safety_checker\": \\[\\s*null,\\s*null\\s*]", "\"safety_checker\": [\"stable_diffusion\", \"StableDiffusionSafetyChecker\"]")
                .replaceFirst("\"feature_extractor\": \\[\\s*null,\\s*null\\s*]", "\"feature_extractor\": [\"transformers\", \"CLIPImageProcessor\"]");
        assertThat(index).contains("StableDiffusionSafetyChecker").contains("CLIPImageProcessor");
        t.put("model_index.json", index.getBytes(StandardCharsets.UTF_8));
        t.put("README.md", "# tiny\n".getBytes(StandardCharsets.UTF_8));
        t.put("safety_checker/config.json", "{}".getBytes(StandardCharsets.UTF_8));
        t.put("safety_checker/model.safetensors", new byte[4096]);
        t.put("feature_extractor/preprocessor_config.json", "{}".getBytes(StandardCharsets.UTF_8));
        t.put("unet/diffusion_pytorch_model.bin", new byte[1000]);
        byte[] fp16 = t.get(UNET).clone();
        fp16[fp16.length - 1] ^= 1;   // a different file with the same layout
        t.put("unet/diffusion_pytorch_model.fp16.safetensors", fp16);
        t.put("v1-single-file.safetensors", t.get(VAE));
        return t;
    }

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub(REPO, repositoryTree());
        cache = tmp.resolve("hf-home/hub");
    }

    @AfterEach
    void stop() { hub.close(); }

    HubEnvironment env(Map<String, String> extra) {
        Map<String, String> e = new HashMap<>(Map.of("HF_ENDPOINT", hub.endpoint().toString(), "HF_HOME", tmp.resolve("hf-home").toString()));
        e.putAll(extra);
        return HubEnvironment.fromEnvironment(e);
    }

    HubEnvironment env() { return env(Map.of()); }

    static HubModels.Options plain() { return new HubModels.Options(null, List.of(), DownloadProgress.NONE, null); }

    Path repoDir() { return cache.resolve("models--sdj-test--tiny-sd"); }

    @Test
    void pullsWhatAPipelineNeedsIntoThePythonCacheLayout() throws IOException {
        Files.createDirectories(tmp.resolve("hf-home"));
        Files.writeString(tmp.resolve("hf-home/token"), "hf_secret_from_file\n");
        hub.requiredToken = "hf_secret_from_file";
        HubModels.Pulled p = new HubModels(env()).pull(HubReference.parse(REPO).orElseThrow(), plain());

        assertThat(p.commit()).isEqualTo(hub.commit);
        assertThat(p.path()).isEqualTo(repoDir().resolve("snapshots").resolve(hub.commit));
        assertThat(Files.readString(repoDir().resolve("refs/main"))).isEqualTo(hub.commit);   // no newline, as Python writes it
        assertThat(p.files()).containsExactlyInAnyOrder("model_index.json", "scheduler/scheduler_config.json",
                "text_encoder/config.json", "text_encoder/model.safetensors", "tokenizer/merges.txt", "tokenizer/special_tokens_map.json",
                "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "unet/config.json", UNET, "vae/config.json", VAE);
        for (String f : p.files()) {
            Path pointer = p.path().resolve(f);
            assertThat(Files.isSymbolicLink(pointer)).as(f).isTrue();
            String etag = FakeHub.isLfs(f) ? hub.sha256(f) : hub.gitBlobId(f);
            String up = "../".repeat(f.split("/").length + 1);   // relative, as huggingface_hub makes them
            assertThat(Files.readSymbolicLink(pointer).toString()).as(f).isEqualTo(up + "blobs/" + etag);
            assertThat(Files.readAllBytes(pointer)).as(f).isEqualTo(hub.bytes(f));
        }
        try (Stream<Path> blobs = Files.list(repoDir().resolve("blobs"))) {
            assertThat(blobs.map(b -> b.getFileName().toString())).hasSize(p.files().size()).noneMatch(n -> n.endsWith(".incomplete"));
        }
        // the token went to the hub, never to the other host the LFS files were redirected to
        assertThat(hub.seen("hub")).isNotEmpty().allMatch(s -> "Bearer hf_secret_from_file".equals(s.authorization()));
        assertThat(hub.seen("cdn")).hasSize(3).allMatch(s -> s.authorization() == null);
        // left out: README, safety checker, feature extractor, .bin and fp16 weights, the top-level single file
        assertThat(hub.seen("cdn")).noneMatch(s -> s.path().contains(hub.sha256("unet/diffusion_pytorch_model.fp16.safetensors")));

        try (ModelSource m = ModelImporter.importFrom(p.path())) {
            assertThat(m.components()).contains("unet", "vae", "text_encoder", "scheduler").doesNotContain("safety_checker");
        }

        // a second pull asks for the listing only: every file is in the snapshot
        int before = hub.seen.size();
        new HubModels(env()).pull(HubReference.parse(REPO).orElseThrow(), plain());
        assertThat(hub.seen.subList(before, hub.seen.size())).extracting(FakeHub.Seen::path).containsExactly("/api/models/" + REPO + "/revision/main");
    }

    @Test
    void resolveUsesTheCacheOnceCompleteAndALocalPathWins() throws IOException {
        HubModels models = new HubModels(env());
        Path first = models.resolve(REPO, plain());
        int requests = hub.seen.size();
        assertThat(models.resolve(REPO, plain())).isEqualTo(first);
        assertThat(hub.seen).hasSize(requests);   // no network the second time
        Path local = tmp.resolve(REPO);
        Files.createDirectories(local);
        String cwdRelative = local.toString();
        assertThat(models.resolve(cwdRelative, plain())).isEqualTo(local);
    }

    @Test
    void followsTheRelativeRedirectOfARenamedRepository() throws IOException {
        hub.formerName = "sdj-test/old-name";
        hub.requiredToken = "tok";
        Path p = new HubModels(env(Map.of("HF_TOKEN", "tok"))).resolve("sdj-test/old-name", plain());
        // stored under the id that was asked for, as huggingface_hub does
        assertThat(p).isEqualTo(cache.resolve("models--sdj-test--old-name/snapshots/" + hub.commit));
        assertThat(Files.readAllBytes(p.resolve(UNET))).isEqualTo(hub.bytes(UNET));
        assertThat(hub.seen("hub")).anyMatch(s -> s.path().startsWith("/sdj-test/old-name/resolve/"))
                .anyMatch(s -> s.path().startsWith("/" + REPO + "/resolve/")).allMatch(s -> "Bearer tok".equals(s.authorization()));
    }

    @Test
    void prefersTheRequestedVariant() {
        HubModels.Pulled p = new HubModels(env()).pull(HubReference.parse(REPO).orElseThrow(),
                new HubModels.Options("fp16", List.of(), DownloadProgress.NONE, null));
        assertThat(p.files()).contains("unet/diffusion_pytorch_model.fp16.safetensors", VAE).doesNotContain(UNET);
    }

    @Test
    void pullsOneFileOrTheFilesMatchingGlobs() throws IOException {
        HubModels models = new HubModels(env());
        Path one = models.resolve(REPO + "/v1-single-file.safetensors", plain());
        assertThat(one).isEqualTo(repoDir().resolve("snapshots/" + hub.commit + "/v1-single-file.safetensors"));
        assertThat(Files.readAllBytes(one)).isEqualTo(hub.bytes(VAE));
        // same content as the vae's: one blob serves both snapshot entries
        HubModels.Pulled p = models.pull(HubReference.parse(REPO).orElseThrow(), new HubModels.Options(null, List.of("vae/*", "*.md"), DownloadProgress.NONE, null));
        assertThat(p.files()).containsExactlyInAnyOrder("README.md", "vae/config.json", VAE);
        assertThat(hub.seen("cdn")).hasSize(1);
    }

    @Test
    void anInterruptedDownloadResumesWithARangeRequest() throws IOException {
        long total = hub.bytes(UNET).length;
        hub.dropAfter.put(UNET, 1_000_000L);
        HubModels models = new HubModels(env());
        assertThatThrownBy(() -> models.pull(HubReference.parse(REPO).orElseThrow(), plain()))
                .isInstanceOf(HubException.class).hasMessageContaining(UNET).hasMessageContaining("run the same command again to resume");
        Path part = repoDir().resolve("blobs/" + hub.sha256(UNET) + ".incomplete");
        assertThat(part).exists();
        long kept = Files.size(part);
        assertThat(kept).isGreaterThan(0).isLessThan(total);
        assertThat(repoDir().resolve("blobs/" + hub.sha256(UNET))).doesNotExist();
        assertThat(repoDir().resolve("snapshots/" + hub.commit + "/" + UNET)).doesNotExist();

        List<long[]> progress = new java.util.ArrayList<>();
        DownloadProgress rec = new DownloadProgress() {
            @Override public void started(String file, long t, long resumedFrom) { if (file.equals(UNET)) progress.add(new long[]{t, resumedFrom}); }
            @Override public void advanced(String file, long done, long t) {}
            @Override public void finished(String file, long t, boolean cached) {}
        };
        HubModels.Pulled p = models.pull(HubReference.parse(REPO).orElseThrow(), new HubModels.Options(null, List.of(), rec, null));
        assertThat(progress).singleElement().satisfies(s -> assertThat(s).containsExactly(total, kept));
        assertThat(hub.seen("cdn")).filteredOn(s -> s.path().endsWith(hub.sha256(UNET))).extracting(FakeHub.Seen::range)
                .containsExactly(null, "bytes=" + kept + "-");
        assertThat(Files.readAllBytes(p.path().resolve(UNET))).isEqualTo(hub.bytes(UNET));
        assertThat(part).doesNotExist();
    }

    @Test
    void cancellingKeepsAResumableIncompleteFileAndNoBlob() throws IOException {
        AtomicBoolean cancel = new AtomicBoolean();
        DownloadProgress cancelMidway = new DownloadProgress() {
            @Override public void started(String file, long total, long resumedFrom) {}
            @Override public void advanced(String file, long done, long total) { if (file.equals(UNET) && done > 500_000) cancel.set(true); }
            @Override public void finished(String file, long total, boolean cached) {}
        };
        HubModels models = new HubModels(env());
        assertThatThrownBy(() -> models.pull(HubReference.parse(REPO).orElseThrow(), new HubModels.Options(null, List.of(), cancelMidway, cancel::get)))
                .isInstanceOf(CancellationException.class).hasMessageContaining("next run resumes it");
        Path part = repoDir().resolve("blobs/" + hub.sha256(UNET) + ".incomplete");
        assertThat(Files.size(part)).isGreaterThan(500_000).isLessThan(hub.bytes(UNET).length);
        assertThat(repoDir().resolve("blobs/" + hub.sha256(UNET))).doesNotExist();
        Path done = models.resolve(REPO, plain());
        assertThat(Files.readAllBytes(done.resolve(UNET))).isEqualTo(hub.bytes(UNET));
        assertThat(hub.seen("cdn")).filteredOn(s -> s.path().endsWith(hub.sha256(UNET))).extracting(FakeHub.Seen::range).last().asString().startsWith("bytes=");
    }

    @Test
    void aFileWhoseSha256DiffersIsRefusedAndLeavesNothingInTheCache() {
        hub.corrupt.put(VAE, true);
        assertThatThrownBy(() -> new HubModels(env()).pull(HubReference.parse(REPO).orElseThrow(), plain()))
                .isInstanceOf(HubException.class).hasMessageContaining(VAE).hasMessageContaining("sha256 mismatch")
                .hasMessageContaining("expected " + hub.sha256(VAE));
        assertThat(repoDir().resolve("blobs/" + hub.sha256(VAE))).doesNotExist();
        assertThat(repoDir().resolve("blobs/" + hub.sha256(VAE) + ".incomplete")).doesNotExist();
        assertThat(repoDir().resolve("snapshots/" + hub.commit + "/" + VAE)).doesNotExist();
    }

    @Test
    void unauthorisedAndMissingGiveClearMessages() {
        HubModels models = new HubModels(env());
        assertThatThrownBy(() -> models.resolve("sdj-test/no-such-model", plain()))
                .isInstanceOf(HubException.class).hasMessageStartingWith("model 'sdj-test/no-such-model' is no local file or folder, and as a hub id: sdj-test/no-such-model@main: HTTP 401")
                .hasMessageContaining("HF_TOKEN");
        hub.requiredToken = "right";
        assertThatThrownBy(() -> new HubModels(env(Map.of("HF_TOKEN", "wrong"))).resolve(REPO, plain()))
                .hasMessageContaining("HTTP 401").hasMessageContaining("token in use");
        hub.requiredToken = null;
        assertThatThrownBy(() -> models.resolve(REPO + "/unet/missing.safetensors", plain()))
                .isInstanceOf(HubException.class).hasMessageContaining("unet/missing.safetensors")
                .hasMessageContaining("no such file in the repository").hasMessageContaining("HTTP 404");
        assertThatThrownBy(() -> models.resolve(REPO + "@no-such-branch", plain()))
                .isInstanceOf(HubException.class).hasMessageContaining("no such revision").hasMessageContaining("HTTP 404");
    }

    @Test
    void offlineModeNeverTouchesTheNetworkAndNamesWhatIsMissing() throws IOException {
        HubModels offline = new HubModels(env(Map.of("HF_HUB_OFFLINE", "1")));
        assertThatThrownBy(() -> offline.resolve(REPO, plain()))
                .isInstanceOf(HubException.class).hasMessageContaining("offline").hasMessageContaining("missing: everything");
        // half a pipeline in the cache: the message lists what is absent
        new HubModels(env()).pull(HubReference.parse(REPO).orElseThrow(),
                new HubModels.Options(null, List.of("model_index.json", "unet/*", "scheduler/*"), DownloadProgress.NONE, null));
        int requests = hub.seen.size();
        assertThatThrownBy(() -> offline.resolve(REPO, plain()))
                .isInstanceOf(HubException.class).hasMessageContaining("missing: ")
                .hasMessageContaining("text_encoder/").hasMessageContaining("tokenizer/").hasMessageContaining("vae/")
                .hasMessageNotContaining("unet").hasMessageNotContaining("safety_checker");
        assertThatThrownBy(() -> offline.resolve(REPO + "/v1-single-file.safetensors", plain())).hasMessageContaining("offline");
        new HubModels(env()).pull(HubReference.parse(REPO).orElseThrow(), plain());
        hub.close();
        requests = hub.seen.size();
        Path p = offline.resolve(REPO, plain());
        assertThat(p).isEqualTo(repoDir().resolve("snapshots/" + hub.commit));
        assertThat(hub.seen).hasSize(requests);
    }

    @Test
    void readsACacheLaidOutByThePythonClient() throws IOException {
        // what huggingface_hub leaves after snapshot_download: blobs named by etag, relative links, refs/main
        Path repoDir = cache.resolve("models--python--pipeline");
        String commit = "0123456789abcdef0123456789abcdef01234567";
        Map<String, byte[]> tree = repositoryTree();
        for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.safetensors",
                "tokenizer/merges.txt", "tokenizer/vocab.json", "tokenizer/tokenizer_config.json", "unet/config.json", UNET, "vae/config.json", VAE)) {
            String etag = FakeHub.isLfs(f) ? FakeHub.hex(FakeHub.digest("SHA-256", tree.get(f))) : FakeHub.hex(FakeHub.digest("SHA-1", tree.get(f)));
            Path blob = repoDir.resolve("blobs/" + etag);
            Files.createDirectories(blob.getParent());
            Files.write(blob, tree.get(f));
            Path pointer = repoDir.resolve("snapshots/" + commit + "/" + f);
            Files.createDirectories(pointer.getParent());
            Files.createSymbolicLink(pointer, Path.of("../".repeat(f.split("/").length + 1) + "blobs/" + etag));
        }
        Files.createDirectories(repoDir.resolve("refs"));
        Files.writeString(repoDir.resolve("refs/main"), commit);
        hub.close();   // nothing may be asked of the network

        Path p = new HubModels(env(Map.of("HF_HUB_OFFLINE", "1"))).resolve("python/pipeline", plain());
        assertThat(p).isEqualTo(repoDir.resolve("snapshots/" + commit));
        assertThat(new HubModels(env()).resolve("python/pipeline", plain())).isEqualTo(p);   // complete: no download either
        assertThat(new HubModels(env()).resolve("python/pipeline@" + commit, plain())).isEqualTo(p);
        try (ModelSource m = ModelImporter.importFrom(p)) {
            assertThat(m.components()).contains("unet", "vae", "text_encoder", "scheduler");
            assertThat(m.tokenizerFiles()).containsKeys("vocab.json", "merges.txt");
        }
        assertThat(hub.seen).isEmpty();
    }

    @Test
    void readsTheSameVariablesAsHuggingfaceHub() throws IOException {
        Path home = tmp.resolve("home");
        Files.createDirectories(home);
        Files.writeString(home.resolve("token"), "hf_from_file\n");
        HubEnvironment e = HubEnvironment.fromEnvironment(Map.of("HF_HOME", home.toString()));
        assertThat(e.endpoint().toString()).isEqualTo("https://huggingface.co");
        assertThat(e.cacheDir()).isEqualTo(home.resolve("hub"));
        assertThat(e.token()).isEqualTo("hf_from_file");
        assertThat(e.offline()).isFalse();
        assertThat(e.toString()).doesNotContain("hf_from_file");
        e = HubEnvironment.fromEnvironment(Map.of("HF_HOME", home.toString(), "HF_TOKEN", "hf_env", "HF_HUB_CACHE", tmp.resolve("c").toString(),
                "HF_HUB_OFFLINE", "true", "HF_ENDPOINT", "http://mirror.example:8080/"));
        assertThat(e.token()).isEqualTo("hf_env");
        assertThat(e.cacheDir()).isEqualTo(tmp.resolve("c"));
        assertThat(e.offline()).isTrue();
        assertThat(e.endpoint().toString()).isEqualTo("http://mirror.example:8080");
        assertThat(HubEnvironment.fromEnvironment(Map.of("XDG_CACHE_HOME", tmp.toString())).cacheDir()).isEqualTo(tmp.resolve("huggingface/hub"));
        assertThatThrownBy(() -> HubEnvironment.fromEnvironment(Map.of("HF_ENDPOINT", "ftp://x"))).hasMessageContaining("HF_ENDPOINT");
    }

    @Test
    void parsesHubIds() {
        assertThat(HubReference.parse("nota-ai/bk-sdm-tiny")).contains(new HubReference("nota-ai/bk-sdm-tiny", "main", null));
        assertThat(HubReference.parse("org/name@v1.0")).contains(new HubReference("org/name", "v1.0", null));
        assertThat(HubReference.parse("org/name@fp16/unet/x.safetensors")).contains(new HubReference("org/name", "fp16", "unet/x.safetensors"));
        for (String notAnId : List.of("model.sdj", "/abs/path", "./rel/path", "../up/x", "org/", "org//name", "a/b/../c", "org/name@", "C:\\models\\x")) {
            assertThat(HubReference.parse(notAnId)).as(notAnId).isEmpty();
        }
    }

    @Test
    void selectsComponentFilesAndVariants() {
        assertThat(PipelineFiles.variantOf("diffusion_pytorch_model.fp16.safetensors")).isEqualTo("fp16");
        assertThat(PipelineFiles.variantOf("diffusion_pytorch_model.fp16-00001-of-00002.safetensors")).isEqualTo("fp16");
        assertThat(PipelineFiles.variantOf("diffusion_pytorch_model.safetensors.index.fp16.json")).isEqualTo("fp16");
        assertThat(PipelineFiles.variantOf("diffusion_pytorch_model.safetensors")).isNull();
        assertThat(PipelineFiles.variantOf("diffusion_pytorch_model-00001-of-00002.safetensors")).isNull();
        // pickled weights only where there are no safetensors (they are read without running code)
        assertThat(PipelineFiles.forFolder("o/n", "unet/", "unet", List.of("unet/config.json", "unet/diffusion_pytorch_model.bin"), null))
                .containsExactly("unet/config.json", "unet/diffusion_pytorch_model.bin");
        assertThatThrownBy(() -> PipelineFiles.forFolder("o/n", "unet/", "unet", List.of("unet/config.json", "unet/flax_model.msgpack"), null))
                .isInstanceOf(HubException.class).hasMessageContaining("o/n: unet has no weights sdj can read").hasMessageContaining("flax_model.msgpack");
        assertThat(PipelineFiles.matching(List.of("a/b.json", "c.json", "d.txt"), List.of("*.json"))).containsExactly("a/b.json", "c.json");
    }
}
