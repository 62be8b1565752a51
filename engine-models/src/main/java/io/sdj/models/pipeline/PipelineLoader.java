package io.sdj.models.pipeline;

import io.sdj.models.clip.ClipTextModel;
import io.sdj.models.clip.ClipTokenizer;
import io.sdj.models.sampling.SchedulerConfig;
import io.sdj.models.sampling.TorchGenerator;
import io.sdj.models.unet.UNet2DConditionModel;
import io.sdj.models.unet.UNetConfig;
import io.sdj.weights.ModelImporter;
import io.sdj.weights.ModelSource;
import io.sdj.weights.WeightsFormatException;
import io.sdj.weights.hub.ConsoleProgress;
import io.sdj.weights.hub.HubEnvironment;
import io.sdj.weights.hub.HubModels;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import io.sdj.models.lora.LoraFile;
import io.sdj.models.lora.LoraMerge;
import io.sdj.models.taesd.TaesdDecoder;
import io.sdj.models.taesd.TaesdFiles;

/**
 * Assembles a {@link Txt2Img} from a model: an sdj flat model file, or (through {@link ModelImporter}) a diffusers
 * pipeline folder or a single-file SD checkpoint (safetensors or pickled .ckpt). Needs the
 * components {@code text_encoder}, {@code unet}, {@code scheduler}, the tokenizer files and at least one decoder
 * ({@code vae}, or a TAESD decoder stored as {@code taesd_decoder}/{@code taesd}); errors name what is missing.
 */
public final class PipelineLoader {
    private PipelineLoader() {}

    /**
     * A model by path or hub id ({@code org/name}, {@code org/name@revision}, {@code org/name/file.safetensors}): an
     * existing path wins; a hub id is taken from the Hugging Face cache and pulled on first use, with progress on
     * stderr (the environment's {@code HF_*} variables apply, {@code HF_HUB_OFFLINE=1} forbids the download).
     */
    public static Txt2Img load(String modelOrId) {
        return load(new HubModels(HubEnvironment.fromSystem()).resolve(modelOrId, HubModels.Options.withProgress(ConsoleProgress.stderr())));
    }

    public static Txt2Img load(Path model) { return new Builder(model).load(); }

    /**
     * Loading options: LoRAs merged into the UNet and text encoder as their weights are packed (the model file is
     * only read), and a standalone TAESD decoder (a taesd.py {@code .pth}/{@code .safetensors} file or a diffusers
     * AutoencoderTiny folder) attached to the model, replacing any TAESD it carries.
     */
    public static final class Builder {
        private final Path model;
        private final List<Object[]> loras = new ArrayList<>();
        private Path taesd;
        private Consumer<String> warnings = m -> { };

        public Builder(Path model) { this.model = model; }

        /** Merges the LoRA file at {@code multiplier} (several may be added; each is applied). */
        public Builder lora(Path file, float multiplier) {
            if (!Float.isFinite(multiplier)) throw new IllegalArgumentException("LoRA multiplier must be finite, got " + multiplier);
            loras.add(new Object[]{file, multiplier});
            return this;
        }

        /** Attaches a standalone TAESD decoder. */
        public Builder taesd(Path fileOrFolder) { taesd = fileOrFolder; return this; }

        /** Receives load-time warnings (LoRA keys that match no module). */
        public Builder warnings(Consumer<String> w) { warnings = w; return this; }

        public Txt2Img load() {
            LoraMerge merge;
            List<LoraMerge.Use> uses = new ArrayList<>();
            try {
                for (Object[] l : loras) uses.add(new LoraMerge.Use(LoraFile.open((Path) l[0]), (Float) l[1]));
            } catch (RuntimeException e) {
                uses.forEach(u -> u.file().close());
                throw e;
            }
            merge = new LoraMerge(uses);
            try {
                return loadWith(model, merge, taesd, warnings);
            } finally {
                merge.closeFiles();
            }
        }
    }

    private static Txt2Img loadWith(Path model, LoraMerge merge, Path taesdFile, Consumer<String> warnings) {
        io.sdj.core.VectorSupport.require();
        if (!Files.exists(model)) throw new IllegalArgumentException("model not found: " + model);
        if (Files.isDirectory(model) && !Files.isRegularFile(model.resolve("model_index.json"))) {
            throw new IllegalArgumentException("model folder " + model + " is not a diffusers pipeline (no model_index.json)");
        }
        ModelSource src;
        try {
            src = ModelSource.open(model);
        } catch (WeightsFormatException | UncheckedIOException e) {
            throw new IllegalArgumentException("cannot read model " + model + ": " + e.getMessage(), e);
        }
        try {
            String name = modelName(model);
            return fromSource(src, name, merge, taesdFile, warnings);
        } catch (RuntimeException e) {
            src.close();
            throw e;
        }
    }

    /**
     * The name the PNG parameters record: the file or folder name without extension, and for a hub cache snapshot
     * ({@code models--org--name/snapshots/<commit>[/file]}) the repository's name.
     */
    static String modelName(Path model) {
        Path abs = model.toAbsolutePath().normalize();
        for (Path p = abs; p != null && p.getParent() != null; p = p.getParent()) {
            Path parent = p.getParent();
            if (parent.getFileName() != null && parent.getFileName().toString().equals("snapshots") && parent.getParent() != null
                    && parent.getParent().getFileName() != null && parent.getParent().getFileName().toString().startsWith("models--")) {
                String repo = parent.getParent().getFileName().toString();
                String repoName = repo.substring(repo.lastIndexOf("--") + 2);
                return abs.equals(p) ? repoName : repoName + "/" + abs.getFileName().toString().replaceFirst("\\.[A-Za-z0-9]+$", "");
            }
        }
        return model.getFileName() == null ? model.toString() : model.getFileName().toString().replaceFirst("\\.[A-Za-z0-9]+$", "");
    }

    /** Builds the pipeline over an open model; the pipeline closes {@code src} when it is closed. */
    public static Txt2Img fromSource(ModelSource src, String modelName) {
        io.sdj.core.VectorSupport.require();
        return fromSource(src, modelName, new LoraMerge(List.of()), null, m -> { });
    }

    private static Txt2Img fromSource(ModelSource src, String modelName, LoraMerge merge, Path taesdFile, Consumer<String> warnings) {
        for (String c : new String[]{"text_encoder", "unet", "scheduler"}) {
            if (!src.components().contains(c)) {
                throw new IllegalArgumentException("model '" + modelName + "' has no " + c + " (it has " + src.components() + ")");
            }
        }
        Map<String, String> tok = src.tokenizerFiles();
        for (String f : new String[]{"vocab.json", "merges.txt"}) {
            if (!tok.containsKey(f)) {
                throw new IllegalArgumentException("model '" + modelName + "' has no tokenizer file " + f
                        + " (a single-file checkpoint carries none: convert it with sdj convert --config-from <diffusers folder>)");
            }
        }
        ClipTokenizer tokenizer = ClipTokenizer.load(tok.get("vocab.json"), tok.get("merges.txt"), tok.get("tokenizer_config.json"));
        String packing = "packing the weights of model '" + modelName + "'";
        long packed = packedWeightBytes(src);
        io.sdj.core.DirectMemory.require(packed, packing);
        // the kernels get compiled on the idle core while this thread packs the weights (see KernelWarmup)
        io.sdj.ops.KernelWarmup warmup = io.sdj.ops.KernelWarmup.start();
        try {
            // the pipeline keeps src open until it is closed itself: conv weights can wait to be packed until a layer
            // first runs as a direct convolution (most never do)
            return io.sdj.ops.Conv2d.deferringPacking(() -> build(src, modelName, tokenizer, merge, taesdFile, warnings));
        } catch (OutOfMemoryError e) {
            if (e.getMessage() == null || !e.getMessage().contains("direct buffer memory")) throw e;
            long limit = io.sdj.core.DirectMemory.limit();
            throw new io.sdj.core.DirectMemory.ShortageException(
                    io.sdj.core.DirectMemory.shortage(packed, limit - io.sdj.core.DirectMemory.used(), limit, packing), e);
        } finally {
            warmup.stop();
        }
    }

    /**
     * Off-heap bytes the kernels' packed copies of a model's weight matrices take: every weight of rank ≥ 2 of the
     * text encoder, UNet, VAE and TAESD components, F16/BF16 ones in 16 bits, the others widened to float32
     * ({@link io.sdj.ops.PackedMatrix#packedType}; vectors stay on the heap). Layers a LoRA is merged into are packed
     * as float32 and counted as stored. An upper bound: memory-mapped conv weights are packed only when their layer
     * first runs as a direct convolution ({@link io.sdj.ops.Conv2d}).
     */
    public static long packedWeightBytes(io.sdj.weights.ModelSource src) {
        return sumOverWeights(src, w -> w.shape().length < 2 ? 0 : w.numel() * io.sdj.ops.PackedMatrix.packedType(w.dtype()).bytes());
    }

    /**
     * The most off-heap bytes the Winograd forms of a model's stride-1 3×3 convolutions can add to
     * {@link #packedWeightBytes} ({@link io.sdj.ops.ConvAlgorithm#transformedWeightBytesAtMost} for every weight shaped
     * [cout, cin, 3, 3]; the few stride-2 ones are counted too), made on first use. A loose upper bound: it assumes
     * F(4×4) everywhere, while at 512² the low-resolution layers take F(2×2) or stay direct (SD 1.5 then holds about
     * 2 GiB of them against 8.8 GiB here), so it is reported, not enforced. 0 under {@code -Dsdj.conv=direct}.
     */
    public static long winogradWeightBytes(io.sdj.weights.ModelSource src) {
        return sumOverWeights(src, w -> w.shape().length == 4 && w.dim(2) == 3 && w.dim(3) == 3
                ? io.sdj.ops.ConvAlgorithm.transformedWeightBytesAtMost(w.dim(0), w.dim(1), w.dtype()) : 0);
    }

    /** Σ bytes(weight) over every weight of every component but the scheduler. */
    private static long sumOverWeights(io.sdj.weights.ModelSource src, java.util.function.ToLongFunction<io.sdj.core.WeightTensor> bytes) {
        long sum = 0;
        for (String c : src.components()) {
            if (c.equals("scheduler")) continue;
            io.sdj.core.WeightSource w = src.weights(c);
            for (String name : w.names()) sum += bytes.applyAsLong(w.get(name));
        }
        return sum;
    }

    private static Txt2Img build(ModelSource src, String modelName, ClipTokenizer tokenizer, LoraMerge merge, Path taesdFile,
                                 Consumer<String> warnings) {
        ClipTextModel text = ClipTextModel.load(src.config("text_encoder"), merge.apply(LoraFile.Part.TEXT_ENCODER, src.weights("text_encoder")));
        UNet2DConditionModel unet = UNet2DConditionModel.load(src.config("unet"), merge.apply(LoraFile.Part.UNET, src.weights("unet")));
        merge.unmatchedReport().forEach(warnings);
        UNetConfig uc = unet.config();
        int cross = uc.crossAttentionDim()[0];
        if (cross != text.hiddenSize()) {
            throw new IllegalArgumentException("model '" + modelName + "': the UNet attends to " + cross
                    + "-wide text embeddings but the text encoder produces " + text.hiddenSize());
        }
        io.sdj.models.vae.AutoencoderKL vaeModel = src.components().contains("vae")
                ? io.sdj.models.vae.AutoencoderKL.load(src.config("vae"), src.weights("vae")) : null;
        LatentDecoder vae = vaeModel == null ? null : Decoders.vae(vaeModel);
        LatentEncoder vaeEncoder = vaeModel == null ? null : Encoders.vae(vaeModel);
        LatentEncoder taesdEncoder = src.components().contains("taesd_encoder")
                ? Encoders.taesd(io.sdj.models.taesd.TaesdEncoder.load(src.weights("taesd_encoder"))) : null;
        String taesdName = src.components().contains("taesd_decoder") ? "taesd_decoder" : src.components().contains("taesd") ? "taesd" : null;
        LatentDecoder taesd;
        if (taesdFile != null) {
            try (TaesdFiles files = TaesdFiles.open(taesdFile)) {
                // closed below: its weights are packed at once
                TaesdDecoder dec = io.sdj.ops.Conv2d.packingAtOnce(() -> TaesdDecoder.load(files.decoder()));
                if (dec.latentChannels() != uc.outChannels()) {
                    throw new IllegalArgumentException("TAESD " + taesdFile + " decodes " + dec.latentChannels() + "-channel latents but the UNet of '"
                            + modelName + "' makes " + uc.outChannels() + " (taesd/taesdxl: 4, taesd3/taef1: 16, taef2: 32)");
                }
                taesd = Decoders.taesd(dec);
                if (files.hasEncoder()) {
                    taesdEncoder = Encoders.taesd(io.sdj.ops.Conv2d.packingAtOnce(() -> io.sdj.models.taesd.TaesdEncoder.load(files.encoder())));
                }
            }
        } else {
            taesd = taesdName == null ? null : Decoders.taesd(TaesdDecoder.load(src.weights(taesdName)));
        }
        if (vae == null && taesd == null) {
            throw new IllegalArgumentException("model '" + modelName + "' has no decoder (neither vae nor taesd_decoder)");
        }
        int scale = src.components().contains("vae") ? Decoders.vaeScaleFactor(src.config("vae")) : 8;
        SchedulerConfig scheduler = SchedulerConfig.fromJson(src.config("scheduler"));
        int latentChannels = uc.outChannels();
        if (uc.inChannels() != latentChannels && uc.inChannels() != 2 * latentChannels + 1) {
            throw new IllegalArgumentException("model '" + modelName + "': the UNet takes " + uc.inChannels() + " input channels and gives "
                    + latentChannels + "; expected equal counts, or " + (2 * latentChannels + 1) + " inputs for an inpainting UNet");
        }
        List<AppliedLora> applied = new ArrayList<>();
        for (LoraMerge.Use u : merge.uses()) applied.add(new AppliedLora(u.file().name(), u.multiplier(), u.file().shortHash()));
        return new Txt2Img(new PipelineParts(tokenizer, text, unet::forward, latentChannels,
                uc.timeCondProjDim() == null ? 0 : uc.timeCondProjDim(), vae, taesd, scale,
                scheduler, SamplerFactory.STANDARD, TorchGenerator::new, modelName, src, vaeEncoder, taesdEncoder, uc.inChannels()), applied);
    }
}
