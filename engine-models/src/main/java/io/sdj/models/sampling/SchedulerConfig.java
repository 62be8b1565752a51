package io.sdj.models.sampling;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A diffusers scheduler configuration ({@code scheduler/config.json}), read with diffusers' {@code from_config}
 * semantics: unknown keys are ignored (configs carry leftovers such as {@code skip_prk_steps} from other classes),
 * keys missing from the file take the defaults of the sampler that uses the config ({@link #forKind}), and values
 * this engine does not implement are refused with an error naming the key and the value — by the sampler that would
 * use them, so a DPM-only option does not stop a DDIM run.
 *
 * @param trainedBetas explicit betas ({@code trained_betas}), or null
 * @param sigmaMin     Karras range override ({@code sigma_min}), or null
 * @param sigmaMax     Karras range override ({@code sigma_max}), or null
 * @param finalSigmasType DPM-Solver's last noise level: "sigma_min" (diffusers 0.25: σ of timestep 0) or "zero"
 *                     (newer diffusers' default, which also forces a first-order last step)
 * @param present      the keys the file actually set (used to apply class defaults to the others)
 */
public record SchedulerConfig(
        String className,
        int numTrainTimesteps,
        double betaStart,
        double betaEnd,
        BetaSchedule betaSchedule,
        double[] trainedBetas,
        PredictionType predictionType,
        TimestepSpacing timestepSpacing,
        int stepsOffset,
        boolean clipSample,
        double clipSampleRange,
        boolean setAlphaToOne,
        boolean skipPrkSteps,
        boolean thresholding,
        boolean rescaleBetasZeroSnr,
        boolean useKarrasSigmas,
        Double sigmaMin,
        Double sigmaMax,
        String timestepType,
        String interpolationType,
        int solverOrder,
        String algorithmType,
        String solverType,
        boolean lowerOrderFinal,
        boolean eulerAtFinal,
        double lambdaMinClipped,
        boolean useLuLambdas,
        String varianceType,
        String finalSigmasType,
        int originalInferenceSteps,
        double timestepScaling,
        Set<String> present) {

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS) // diffusers writes -Infinity (lambda_min_clipped)
            .build();

    public SchedulerConfig {
        present = Collections.unmodifiableSet(new TreeSet<>(present));
        trainedBetas = trainedBetas == null ? null : trainedBetas.clone();
        if (numTrainTimesteps < 2) throw bad("num_train_timesteps", numTrainTimesteps, "must be at least 2");
        if (trainedBetas != null && trainedBetas.length != numTrainTimesteps) {
            throw bad("trained_betas", trainedBetas.length + " values", "must have num_train_timesteps = " + numTrainTimesteps + " values");
        }
        if (stepsOffset < 0 || stepsOffset >= numTrainTimesteps) throw bad("steps_offset", stepsOffset, "must be in [0, num_train_timesteps)");
    }

    /** The diffusers defaults (as {@code DDIMScheduler()} etc. would have with an empty config). */
    public static SchedulerConfig defaults() { return fromJson(JSON.createObjectNode()); }

    /** Stable Diffusion 1.x's scheduler config (scaled_linear 0.00085 → 0.012, steps_offset 1, leading). */
    public static SchedulerConfig stableDiffusion1() {
        ObjectNode o = JSON.createObjectNode();
        o.put("beta_start", 0.00085).put("beta_end", 0.012).put("beta_schedule", "scaled_linear")
                .put("num_train_timesteps", 1000).put("set_alpha_to_one", false).put("skip_prk_steps", true)
                .put("steps_offset", 1).put("clip_sample", false);
        return fromJson(o);
    }

    /** Parses config JSON text (accepts the non-standard {@code Infinity}/{@code NaN} numbers diffusers writes). */
    public static SchedulerConfig parse(String json) {
        try {
            return fromJson(JSON.readTree(json));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("scheduler config: malformed JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Reads a {@code scheduler_config.json} / {@code config.json} file. */
    public static SchedulerConfig read(Path file) {
        try {
            return parse(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The JSON reader this class uses (lenient about Infinity/NaN), for callers parsing config text themselves. */
    public static ObjectMapper jsonMapper() { return JSON; }

    /** {@code Cls.from_config(config, **overrides)}: the overrides' keys replace the config's. */
    public static SchedulerConfig fromJson(JsonNode config, JsonNode overrides) {
        ObjectNode merged = config == null || config.isNull() || config.isMissingNode() ? JSON.createObjectNode() : requireObject(config).deepCopy();
        if (overrides != null && !overrides.isMissingNode() && !overrides.isNull()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = requireObject(overrides).fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                merged.set(e.getKey(), e.getValue());
            }
        }
        return fromJson(merged);
    }

    /** Reads a scheduler config object. Unknown keys are ignored; a value of the wrong type is an error naming the key. */
    public static SchedulerConfig fromJson(JsonNode json) {
        JsonNode j = requireObject(json);
        Set<String> present = new TreeSet<>();
        j.fieldNames().forEachRemaining(k -> { if (!j.get(k).isNull()) present.add(k); });
        return new SchedulerConfig(
                str(j, "_class_name", ""),
                io.sdj.models.config.ConfigValues.boundedInt(j, "scheduler", "num_train_timesteps", 1000, 1, 100_000),
                number(j, "beta_start", 0.0001),
                number(j, "beta_end", 0.02),
                BetaSchedule.parse(str(j, "beta_schedule", "linear")),
                doubles(j, "trained_betas"),
                PredictionType.parse(str(j, "prediction_type", "epsilon")),
                TimestepSpacing.parse(str(j, "timestep_spacing", "leading")),
                io.sdj.models.config.ConfigValues.boundedInt(j, "scheduler", "steps_offset", 0, 0, 100_000),
                bool(j, "clip_sample", true),
                number(j, "clip_sample_range", 1.0),
                bool(j, "set_alpha_to_one", true),
                bool(j, "skip_prk_steps", false),
                bool(j, "thresholding", false),
                bool(j, "rescale_betas_zero_snr", false),
                bool(j, "use_karras_sigmas", false),
                optionalNumber(j, "sigma_min"),
                optionalNumber(j, "sigma_max"),
                str(j, "timestep_type", "discrete"),
                str(j, "interpolation_type", "linear"),
                io.sdj.models.config.ConfigValues.boundedInt(j, "scheduler", "solver_order", 2, 1, 3),
                str(j, "algorithm_type", "dpmsolver++"),
                str(j, "solver_type", "midpoint"),
                bool(j, "lower_order_final", true),
                bool(j, "euler_at_final", false),
                number(j, "lambda_min_clipped", Double.NEGATIVE_INFINITY),
                bool(j, "use_lu_lambdas", false),
                str(j, "variance_type", null),
                str(j, "final_sigmas_type", "sigma_min"),
                io.sdj.models.config.ConfigValues.boundedInt(j, "scheduler", "original_inference_steps", 50, 1, 100_000),
                number(j, "timestep_scaling", 10.0),
                present);
    }

    /**
     * This config as the given sampler class sees it: keys absent from the file take that class's defaults
     * ({@code timestep_spacing}, {@code clip_sample}, {@code set_alpha_to_one} differ between diffusers classes).
     */
    public SchedulerConfig forKind(SamplerKind kind) {
        return new SchedulerConfig(className, numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas, predictionType,
                present.contains("timestep_spacing") ? timestepSpacing : kind.defaultSpacing(),
                stepsOffset,
                present.contains("clip_sample") ? clipSample : kind.defaultClipSample(),
                clipSampleRange,
                present.contains("set_alpha_to_one") ? setAlphaToOne : kind.defaultSetAlphaToOne(),
                skipPrkSteps, thresholding, rescaleBetasZeroSnr, useKarrasSigmas, sigmaMin, sigmaMax, timestepType,
                interpolationType, solverOrder, algorithmType, solverType, lowerOrderFinal, eulerAtFinal, lambdaMinClipped,
                useLuLambdas, varianceType, finalSigmasType, originalInferenceSteps, timestepScaling, present);
    }

    /** A copy with another prediction type (model metadata or the command line may say what the model predicts). */
    public SchedulerConfig withPredictionType(PredictionType p) {
        return override("prediction_type", p.key());
    }

    /** A copy with another timestep spacing. */
    public SchedulerConfig withTimestepSpacing(TimestepSpacing s) {
        return override("timestep_spacing", s.key());
    }

    /** A copy with Karras sigmas switched on or off (Euler, DPM-Solver++). */
    public SchedulerConfig withKarrasSigmas(boolean on) {
        return override("use_karras_sigmas", on);
    }

    private SchedulerConfig override(String key, Object value) {
        ObjectNode o = toJson();
        if (value instanceof Boolean b) o.put(key, b); else o.put(key, value.toString());
        return fromJson(o);
    }

    /** The config as diffusers-style JSON (only the keys this engine reads, plus the class name). */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        if (!className.isEmpty()) o.put("_class_name", className);
        o.put("num_train_timesteps", numTrainTimesteps).put("beta_start", betaStart).put("beta_end", betaEnd)
                .put("beta_schedule", betaSchedule.key());
        if (trainedBetas != null) { var a = o.putArray("trained_betas"); for (double b : trainedBetas) a.add(b); }
        o.put("prediction_type", predictionType.key());
        if (present.contains("timestep_spacing")) o.put("timestep_spacing", timestepSpacing.key());
        o.put("steps_offset", stepsOffset);
        if (present.contains("clip_sample")) o.put("clip_sample", clipSample);
        o.put("clip_sample_range", clipSampleRange);
        if (present.contains("set_alpha_to_one")) o.put("set_alpha_to_one", setAlphaToOne);
        o.put("skip_prk_steps", skipPrkSteps).put("thresholding", thresholding).put("rescale_betas_zero_snr", rescaleBetasZeroSnr)
                .put("use_karras_sigmas", useKarrasSigmas);
        if (sigmaMin != null) o.put("sigma_min", sigmaMin);
        if (sigmaMax != null) o.put("sigma_max", sigmaMax);
        o.put("timestep_type", timestepType).put("interpolation_type", interpolationType).put("solver_order", solverOrder)
                .put("algorithm_type", algorithmType).put("solver_type", solverType).put("lower_order_final", lowerOrderFinal)
                .put("euler_at_final", eulerAtFinal).put("lambda_min_clipped", lambdaMinClipped).put("use_lu_lambdas", useLuLambdas);
        if (varianceType != null) o.put("variance_type", varianceType);
        o.put("final_sigmas_type", finalSigmasType);
        o.put("original_inference_steps", originalInferenceSteps).put("timestep_scaling", timestepScaling);
        return o;
    }

    // ---- checks used by the samplers --------------------------------------------------------------------------

    /** Refuses options no sampler here implements (every sampler calls this). */
    void requireCommonSupport(SamplerKind kind) {
        if (thresholding) throw unsupported(kind, "thresholding", true, "dynamic thresholding is not implemented");
        if (rescaleBetasZeroSnr) throw unsupported(kind, "rescale_betas_zero_snr", true, "zero-terminal-SNR rescaling is not implemented");
    }

    static IllegalArgumentException unsupported(SamplerKind kind, String key, Object value, String why) {
        return new IllegalArgumentException("scheduler config: " + key + " = " + value + " is not supported by the "
                + kind.cliName() + " sampler (" + why + ")");
    }

    private static IllegalArgumentException bad(String key, Object value, String why) {
        return new IllegalArgumentException("scheduler config: " + key + " = " + value + ": " + why);
    }

    // ---- JSON helpers -----------------------------------------------------------------------------------------

    private static JsonNode requireObject(JsonNode j) {
        if (j == null || !j.isObject()) throw new IllegalArgumentException("scheduler config: expected a JSON object, got " + j);
        return j;
    }

    private static JsonNode field(JsonNode j, String key) {
        JsonNode v = j.get(key);
        return v == null || v.isNull() ? null : v;
    }

    private static String str(JsonNode j, String key, String def) {
        JsonNode v = field(j, key);
        if (v == null) return def;
        if (!v.isTextual()) throw bad(key, v, "expected a string");
        return v.asText();
    }

    private static boolean bool(JsonNode j, String key, boolean def) {
        JsonNode v = field(j, key);
        if (v == null) return def;
        if (!v.isBoolean()) throw bad(key, v, "expected true or false");
        return v.asBoolean();
    }

    private static double number(JsonNode j, String key, double def) {
        JsonNode v = field(j, key);
        if (v == null) return def;
        if (!v.isNumber()) throw bad(key, v, "expected a number");
        return v.asDouble();
    }

    private static Double optionalNumber(JsonNode j, String key) {
        JsonNode v = field(j, key);
        if (v == null) return null;
        if (!v.isNumber()) throw bad(key, v, "expected a number or null");
        return v.asDouble();
    }

    private static double[] doubles(JsonNode j, String key) {
        JsonNode v = field(j, key);
        if (v == null) return null;
        if (!v.isArray()) throw bad(key, v, "expected an array of numbers or null");
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isNumber()) throw bad(key, v.get(i), "element " + i + " is not a number");
            out[i] = v.get(i).asDouble();
        }
        return out;
    }
}
