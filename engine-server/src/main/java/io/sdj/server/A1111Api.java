package io.sdj.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.pipeline.GenerationParameters;
import io.sdj.models.pipeline.GenerationRequest;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.RgbImage;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.SamplerKind;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The AUTOMATIC1111 web UI's API ({@code modules/api/api.py}, {@code models.py}) for the fields sdj supports:
 * {@code txt2img} and {@code img2img} requests become engine runs (batch_size × n_iter images, seeds seed, seed+1, …
 * as A1111 numbers them), answers carry base64 PNGs (with the {@code parameters} text chunk), the request echoed as
 * {@code parameters} and A1111's {@code info} JSON string; {@code progress}, {@code sd-models} and {@code samplers} in
 * A1111's shapes. A field sdj cannot honour (hires fix, face restoration, scripts, subseeds, …) set to anything but
 * its "off" value is refused with 400 naming it; fields it has no use for are ignored.
 */
final class A1111Api {
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyyMMddHHmmss");
    private final ObjectMapper json;
    private final Txt2Img sd;
    private final Limits limits;
    private final String modelSource;

    A1111Api(ObjectMapper json, Txt2Img sd, Limits limits, String modelSource) {
        this.json = json;
        this.sd = sd;
        this.limits = limits;
        this.modelSource = modelSource;
    }

    /** The samplers by every name a client may send: A1111's display names, sdj's names and their aliases. */
    static SamplerKind sampler(String field, String name) {
        for (SamplerKind k : SamplerKind.values()) {
            if (GenerationParameters.displayName(k).equalsIgnoreCase(name.strip())) return k;
        }
        try {
            return SamplerKind.parse(name);
        } catch (IllegalArgumentException e) {
            List<String> names = new ArrayList<>();
            for (SamplerKind k : SamplerKind.values()) names.add(GenerationParameters.displayName(k));
            throw ApiException.badField(field, "unknown sampler '" + name + "' (this server has " + String.join(", ", names) + ")");
        }
    }

    Generation txt2img(ObjectNode body) {
        JsonFields f = new JsonFields(body);
        List<Txt2Img.Request> runs = common(f, null);
        return new Generation("txt2img", runs, outcome -> answer(body, f, outcome));
    }

    Generation img2img(ObjectNode body) {
        JsonFields f = new JsonFields(body);
        var images = f.node("init_images");
        if (images == null || !images.isArray() || images.isEmpty()) {
            throw ApiException.badField("init_images", "expected a list with one base64 image");
        }
        if (images.size() > 1) throw ApiException.badField("init_images", images.size() + " images given: sdj uses one init image");
        if (!images.get(0).isTextual()) throw ApiException.badField("init_images", "expected base64 image strings");
        RgbImage init = UploadedImage.decode("init_images", images.get(0).textValue(), limits);
        RgbImage mask = null;
        if (f.has("mask")) {
            mask = UploadedImage.decode("mask", f.string("mask", null), limits);
            f.refuseUnlessOff("mask_blur", "sdj uses the mask as given (unblurred); send 0");
            f.refuseUnlessOff("inpainting_mask_invert", "invert the mask before sending it");
            f.refuseUnlessOff("inpaint_full_res", "sdj inpaints the whole picture");
        }
        f.refuseUnlessOff("resize_mode", "only 0 (just resize) is supported");
        Double strength = f.number("denoising_strength", 0.75);
        if (!(strength > 0 && strength <= 1)) throw ApiException.badField("denoising_strength", "must be in (0, 1], got " + strength);
        Img2ImgInput input = new Img2ImgInput(init, mask, strength);
        List<Txt2Img.Request> runs = common(f, input);
        ObjectNode echo = body.deepCopy();
        echo.putNull("init_images");
        echo.putNull("mask");
        return new Generation("img2img", runs, outcome -> answer(echo, f, outcome));
    }

    private record Img2ImgInput(RgbImage image, RgbImage mask, double strength) {}

    /** The settings txt2img and img2img share; one request per image. */
    private List<Txt2Img.Request> common(JsonFields f, Img2ImgInput img2img) {
        f.refuseUnlessOff("enable_hr", "no hires fix in sdj");
        f.refuseUnlessOff("restore_faces", "no face restoration in sdj");
        f.refuseUnlessOff("tiling", "no tiling (seamless) mode in sdj");
        f.refuseUnlessOff("styles", "no saved styles in sdj: put the text into the prompt");
        f.refuseUnlessOff("script_name", "no scripts in sdj");
        f.refuseUnlessOff("script_args", "no scripts in sdj");
        f.refuseUnlessOff("alwayson_scripts", "no scripts in sdj");
        f.refuseUnlessOff("subseed_strength", "no variation seeds in sdj");
        f.refuseUnlessOff("save_images", "sdj serve keeps nothing on the server; the images are in the answer");
        f.refuseUnlessOff("eta", "sdj's samplers run with eta 0");
        for (String k : List.of("seed_resize_from_w", "seed_resize_from_h")) {
            Integer v = f.integer(k, -1);
            if (v != -1 && v != 0) throw ApiException.badField(k, v + " is not supported: no seed resizing in sdj");
        }
        String scheduler = f.string("scheduler", "automatic");
        if (!scheduler.equalsIgnoreCase("automatic")) {
            throw ApiException.badField("scheduler", "'" + scheduler + "' is not supported: sdj uses the model's own noise schedule (Automatic)");
        }
        int clipSkip = 0;
        var overrides = f.node("override_settings");
        if (overrides != null) {
            if (!overrides.isObject()) throw ApiException.badField("override_settings", "expected an object");
            for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> it = overrides.fields(); it.hasNext(); ) {
                var e = it.next();
                String key = "override_settings." + e.getKey();
                switch (e.getKey()) {
                    case "CLIP_stop_at_last_layers" -> {
                        int v = e.getValue().asInt(-1);
                        if (v != 1 && v != 2) throw ApiException.badField(key, "must be 1 or 2, got " + JsonFields.describe(e.getValue()));
                        clipSkip = v - 1;
                    }
                    case "sd_model_checkpoint" -> {
                        String m = e.getValue().asText();
                        if (!m.equals(modelTitle()) && !m.equals(sd.modelName()) && !m.equals(modelSource)) {
                            throw ApiException.badField(key, "'" + m + "' is not loaded: this server serves '" + modelTitle() + "' only");
                        }
                    }
                    default -> throw ApiException.badField(key, "setting not supported by sdj serve (it supports CLIP_stop_at_last_layers, sd_model_checkpoint)");
                }
            }
        }
        String prompt = f.string("prompt", "");
        String negative = f.string("negative_prompt", "");
        String samplerName = f.has("sampler_name") ? f.string("sampler_name", null) : f.string("sampler_index", null);
        SamplerKind sampler = samplerName == null || samplerName.isBlank() ? null
                : sampler(f.has("sampler_name") ? "sampler_name" : "sampler_index", samplerName);
        Integer steps = f.integer("steps", null);
        if (steps != null && (steps < 1 || steps > limits.maxSteps())) {
            throw ApiException.badField("steps", "must be between 1 and " + limits.maxSteps() + " on this server, got " + steps);
        }
        double cfg = f.number("cfg_scale", 7.0);
        int width = f.integer("width", 512), height = f.integer("height", 512);
        for (String k : List.of("width", "height")) {
            int v = k.equals("width") ? width : height;
            if (v < 8 || v % 8 != 0) throw ApiException.badField(k, "must be a positive multiple of 8, got " + v);
        }
        limits.checkSize("width", width, height);
        int batch = f.integer("batch_size", 1), iterations = f.integer("n_iter", 1);
        if (batch < 1) throw ApiException.badField("batch_size", "must be at least 1, got " + batch);
        if (iterations < 1) throw ApiException.badField("n_iter", "must be at least 1, got " + iterations);
        if ((long) batch * iterations > limits.maxImages()) {
            throw ApiException.badField("batch_size", "batch_size × n_iter = " + (long) batch * iterations
                    + " images; this server makes at most " + limits.maxImages() + " per request");
        }
        long seed = f.seed("seed", -1L);
        if (seed == -1L) seed = ThreadLocalRandom.current().nextLong(1L << 32);   // A1111: a random 32-bit seed
        List<Txt2Img.Request> runs = new ArrayList<>();
        for (int i = 0; i < batch * iterations; i++) {
            Txt2Img.Request r = sd.request().prompt(prompt).negativePrompt(negative).sampler(sampler).steps(steps)
                    .guidance((float) cfg).seed(seed + i).size(width, height).clipSkip(clipSkip);
            if (img2img != null) {
                r.initImage(img2img.image()).strength(img2img.strength());
                if (img2img.mask() != null) r.mask(img2img.mask());
            }
            runs.add(r);
        }
        try {
            runs.get(0).build();   // the engine's own checks (guidance, sizes, ...) before the request is queued
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
        return runs;
    }

    private ObjectNode answer(ObjectNode request, JsonFields f, Job.Outcome outcome) {
        ObjectNode out = json.createObjectNode();
        ArrayNode images = out.putArray("images");
        if (f.bool("send_images", true)) {
            for (GenerationResult r : outcome.results()) {
                images.add(Base64.getEncoder().encodeToString(PngWriter.encode(r.images().get(0), r.parameters(0))));
            }
        }
        out.set("parameters", request);
        out.put("info", info(outcome, f).toString());
        return out;
    }

    /** A1111's {@code Processed.js()}: the settings of the first image and per-image lists. */
    private ObjectNode info(Job.Outcome outcome, JsonFields f) {
        ObjectNode info = json.createObjectNode();
        List<GenerationResult> rs = outcome.results();
        GenerationResult first = rs.get(0);
        GenerationRequest q = first.request();
        info.put("prompt", q.prompt());
        ArrayNode allPrompts = info.putArray("all_prompts");
        info.put("negative_prompt", q.negativePrompt());
        ArrayNode allNegative = info.putArray("all_negative_prompts");
        info.put("seed", seed(q.seed()));
        ArrayNode allSeeds = info.putArray("all_seeds");
        info.put("subseed", -1);
        ArrayNode allSubseeds = info.putArray("all_subseeds");
        info.put("subseed_strength", 0);
        info.put("width", q.width());
        info.put("height", q.height());
        info.put("sampler_name", GenerationParameters.displayName(first.sampler()));
        info.put("cfg_scale", q.guidance());
        info.put("steps", first.scheduledSteps());
        info.put("batch_size", f.integer("batch_size", 1));
        info.put("restore_faces", false);
        info.putNull("face_restoration_model");
        info.put("sd_model_name", sd.modelName());
        info.putNull("sd_model_hash");
        info.putNull("sd_vae_name");
        info.putNull("sd_vae_hash");
        info.put("seed_resize_from_w", -1);
        info.put("seed_resize_from_h", -1);
        if (q.initImage() != null) info.put("denoising_strength", q.effectiveStrength());
        else info.putNull("denoising_strength");
        info.putObject("extra_generation_params");
        info.put("index_of_first_image", 0);
        ArrayNode infotexts = info.putArray("infotexts");
        info.putArray("styles");
        info.put("job_timestamp", LocalDateTime.now().format(TIMESTAMP));
        info.put("clip_skip", q.clipSkip() + 1);
        info.put("is_using_inpainting_conditioning", q.mask() != null && sd.parts().inpaintingDenoiser());
        info.put("version", "sdj 0.1.0");
        if (outcome.stoppedBecause() != null) info.put("interrupted", outcome.stoppedBecause());
        for (GenerationResult r : rs) {
            allPrompts.add(r.request().prompt());
            allNegative.add(r.request().negativePrompt());
            allSeeds.add(seed(r.request().seed()));
            allSubseeds.add(-1);
            infotexts.add(r.parameters(0));
        }
        return info;
    }

    /** A seed as the unsigned number torch takes (seeds are 64-bit patterns; negative ones wrap, as in torch). */
    private static java.math.BigInteger seed(long s) {
        return new java.math.BigInteger(Long.toUnsignedString(s));
    }

    /** {@code GET /sdapi/v1/progress}: the job that has run longest (A1111 runs one at a time). */
    ObjectNode progress(GenerationQueue queue, boolean skipCurrentImage) {
        Job job = queue.current();
        ObjectNode out = json.createObjectNode();
        out.put("progress", job == null ? 0 : job.progress());
        out.put("eta_relative", job == null ? 0 : job.etaSeconds());
        ObjectNode state = out.putObject("state");
        state.put("skipped", false);
        state.put("interrupted", job != null && "interrupted".equals(job.cancelReason));
        state.put("stopping_generation", false);
        state.put("job", job == null ? "" : job.kind);
        state.put("job_count", job == null ? 0 : job.runs.size());
        state.put("job_timestamp", job == null ? "0" : LocalDateTime.now().format(TIMESTAMP));
        state.put("job_no", job == null ? 0 : job.run);
        state.put("sampling_step", job == null ? 0 : job.step);
        state.put("sampling_steps", job == null ? 0 : job.steps);
        state.put("queued", queue.waitingCount());
        state.put("running", queue.runningCount());
        RgbImage preview = job == null ? null : job.preview;
        if (skipCurrentImage || preview == null) out.putNull("current_image");
        else out.put("current_image", Base64.getEncoder().encodeToString(PngWriter.encode(preview, Map.of())));
        out.putNull("textinfo");
        return out;
    }

    String modelTitle() {
        return sd.modelName();
    }

    /** {@code GET /sdapi/v1/sd-models}: the one loaded model. */
    ArrayNode sdModels() {
        ArrayNode out = json.createArrayNode();
        ObjectNode m = out.addObject();
        m.put("title", modelTitle());
        m.put("model_name", sd.modelName());
        m.putNull("hash");
        m.putNull("sha256");
        m.put("filename", modelSource);
        m.putNull("config");
        return out;
    }

    /** {@code GET /sdapi/v1/samplers}: A1111's name of each sampler, sdj's names as aliases. */
    ArrayNode samplers() {
        ArrayNode out = json.createArrayNode();
        for (SamplerKind k : SamplerKind.values()) {
            ObjectNode s = out.addObject();
            s.put("name", GenerationParameters.displayName(k));
            ArrayNode aliases = s.putArray("aliases");
            Map<String, Boolean> seen = new LinkedHashMap<>();
            seen.put(k.cliName(), true);
            seen.put(k.name().toLowerCase(Locale.ROOT), true);
            for (String a : seen.keySet()) aliases.add(a);
            s.putObject("options");
        }
        return out;
    }
}
