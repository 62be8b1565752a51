package io.sdj.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.Txt2Img;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * OpenAI's {@code POST /v1/images/generations} for what sdj supports: {@code prompt}, {@code n} (seeds s, s+1, … from a
 * random s), {@code size} ("WxH", multiples of 8, or "auto" = 512x512), {@code response_format} "b64_json" (the
 * default here: images are never stored, so "url" is refused) and {@code output_format} "png". {@code model},
 * {@code quality}, {@code style}, {@code user} and the rest are ignored. The answer is {@code {created, data: [{b64_json}]}}.
 */
final class OpenAiImagesApi {
    private final ObjectMapper json;
    private final Txt2Img sd;
    private final Limits limits;

    OpenAiImagesApi(ObjectMapper json, Txt2Img sd, Limits limits) {
        this.json = json;
        this.sd = sd;
        this.limits = limits;
    }

    Generation generations(ObjectNode body) {
        JsonFields f = new JsonFields(body);
        if (!f.has("prompt")) throw ApiException.badField("prompt", "missing (the text to draw)");
        String prompt = f.string("prompt", "");
        int n = f.integer("n", 1);
        if (n < 1 || n > limits.maxImages()) throw ApiException.badField("n", "must be between 1 and " + limits.maxImages() + " on this server, got " + n);
        String size = f.string("size", "auto");
        int width = 512, height = 512;
        if (!size.equals("auto")) {
            String[] wh = size.toLowerCase(java.util.Locale.ROOT).split("x");
            try {
                if (wh.length != 2) throw new NumberFormatException();
                width = Integer.parseInt(wh[0].strip());
                height = Integer.parseInt(wh[1].strip());
            } catch (NumberFormatException e) {
                throw ApiException.badField("size", "expected \"WIDTHxHEIGHT\" (e.g. \"512x512\") or \"auto\", got '" + size + "'");
            }
            if (width < 8 || height < 8 || width % 8 != 0 || height % 8 != 0) {
                throw ApiException.badField("size", "width and height must be positive multiples of 8, got '" + size + "'");
            }
            limits.checkSize("size", width, height);
        }
        String format = f.string("response_format", "b64_json");
        if (!format.equals("b64_json")) {
            throw ApiException.badField("response_format", "'" + format + "' is not supported: this server keeps no images to link to; use \"b64_json\"");
        }
        String output = f.string("output_format", "png");
        if (!output.equals("png")) throw ApiException.badField("output_format", "'" + output + "' is not supported: sdj writes PNG");
        long seed = ThreadLocalRandom.current().nextLong(1L << 32);
        List<Txt2Img.Request> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) runs.add(sd.request().prompt(prompt).size(width, height).seed(seed + i));
        try {
            runs.get(0).build();
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, e.getMessage());
        }
        int w = width, h = height;
        return new Generation("images/generations", runs, outcome -> answer(outcome, w, h));
    }

    private ObjectNode answer(Job.Outcome outcome, int width, int height) {
        ObjectNode out = json.createObjectNode();
        out.put("created", System.currentTimeMillis() / 1000);
        ArrayNode data = out.putArray("data");
        for (GenerationResult r : outcome.results()) {
            data.addObject().put("b64_json", Base64.getEncoder().encodeToString(PngWriter.encode(r.images().get(0), r.parameters(0))));
        }
        out.put("output_format", "png");
        out.put("size", width + "x" + height);
        return out;
    }
}
