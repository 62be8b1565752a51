package io.sdj.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.sdj.models.pipeline.GenerationResult;
import io.sdj.models.pipeline.PngWriter;
import io.sdj.models.pipeline.Txt2Img;
import io.sdj.models.sampling.SamplerKind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.net.http.HttpResponse;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/** Every A1111 endpoint over plain HTTP against the golden tiny pipeline. */
class A1111ApiTest {
    static Txt2Img sd;
    static ServerFixture f;

    @BeforeAll
    static void start() throws Exception {
        sd = ServerFixture.loadGolden();
        f = new ServerFixture(sd, ServerSettings.loopback(0));
    }

    @AfterAll
    static void stop() {
        if (f != null) f.close();
        if (sd != null) sd.close();
    }

    @Test
    void txt2imgGivesThePngTxt2ImgGivesForTheSameSeed() throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = f.post("/sdapi/v1/txt2img", """
                {"prompt": "a photograph of an astronaut riding a horse", "negative_prompt": "blurry",
                 "steps": 4, "cfg_scale": 7.5, "width": 128, "height": 96, "seed": 51, "sampler_name": "Euler a",
                 "batch_size": 2, "some_unknown_field": {"x": 1}}""");
        System.err.printf("txt2img 2 images: %.2f s%n", (System.nanoTime() - t0) / 1e9);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = ServerFixture.json(r);
        assertThat(body.get("images")).hasSize(2);
        for (JsonNode image : body.get("images")) {
            BufferedImage png = ServerFixture.png(image.asText());
            assertThat(png.getWidth()).isEqualTo(128);
            assertThat(png.getHeight()).isEqualTo(96);
        }
        for (int i = 0; i < 2; i++) {
            GenerationResult direct = sd.request().prompt("a photograph of an astronaut riding a horse").negativePrompt("blurry")
                    .steps(4).guidance(7.5f).size(128, 96).seed(51 + i).sampler(SamplerKind.EULER_ANCESTRAL).generate();
            byte[] expected = PngWriter.encode(direct.images().get(0), direct.parameters(0));
            assertThat(Base64.getDecoder().decode(body.get("images").get(i).asText())).as("image %d", i).isEqualTo(expected);
        }
        JsonNode info = ServerFixture.JSON.readTree(body.get("info").asText());
        assertThat(info.get("seed").asLong()).isEqualTo(51);
        assertThat(info.get("all_seeds").toString()).isEqualTo("[51,52]");
        assertThat(info.get("sampler_name").asText()).isEqualTo("Euler a");
        assertThat(info.get("steps").asInt()).isEqualTo(4);
        assertThat(info.get("width").asInt()).isEqualTo(128);
        assertThat(info.get("infotexts").get(1).asText()).contains("Seed: 52", "Sampler: Euler a", "Size: 128x96");
        assertThat(body.get("parameters").get("prompt").asText()).isEqualTo("a photograph of an astronaut riding a horse");
        assertThat(body.get("parameters").get("seed").asLong()).isEqualTo(51);
    }

    @Test
    void img2imgTakesABase64ImageAndAnswersWithTheImg2ImgPipelinesPng() throws Exception {
        byte[] init = PngWriter.encode(sd.request().prompt("a red fox").steps(1).guidance(1).size(64, 64).seed(3).generate().images().get(0), "init");
        String b64 = Base64.getEncoder().encodeToString(init);
        HttpResponse<String> r = f.post("/sdapi/v1/img2img", """
                {"init_images": ["data:image/png;base64,%s"], "prompt": "oil painting", "steps": 8, "denoising_strength": 0.5,
                 "width": 64, "height": 64, "seed": 7, "sampler_name": "DDIM"}""".formatted(b64));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = ServerFixture.json(r);
        BufferedImage png = ServerFixture.png(body.get("images").get(0).asText());
        assertThat(png.getWidth()).isEqualTo(64);
        GenerationResult direct = sd.request().prompt("oil painting").steps(8).guidance(7).size(64, 64).seed(7).sampler(SamplerKind.DDIM)
                .initImage(io.sdj.models.pipeline.PngReader.read(init, "init")).strength(0.5).generate();
        assertThat(Base64.getDecoder().decode(body.get("images").get(0).asText()))
                .isEqualTo(PngWriter.encode(direct.images().get(0), direct.parameters(0)));
        JsonNode info = ServerFixture.JSON.readTree(body.get("info").asText());
        assertThat(info.get("denoising_strength").asDouble()).isEqualTo(0.5);
        assertThat(info.get("infotexts").get(0).asText()).contains("Denoising strength: 0.5");
        assertThat(body.get("parameters").get("init_images").isNull()).isTrue();
    }

    @Test
    void img2imgWithAMaskInpaintsAndRefusesABlurredMask() throws Exception {
        byte[] init = PngWriter.encode(sd.request().prompt("a room").steps(1).guidance(1).size(64, 64).seed(4).generate().images().get(0), "init");
        byte[] rgb = new byte[64 * 64 * 3];
        for (int y = 0; y < 64; y++) for (int x = 32; x < 64; x++) for (int c = 0; c < 3; c++) rgb[3 * (y * 64 + x) + c] = (byte) 255;
        byte[] mask = PngWriter.encode(new io.sdj.models.pipeline.RgbImage(64, 64, rgb), java.util.Map.of());
        String request = """
                {"init_images": ["%s"], "mask": "%s", "prompt": "a red armchair", "steps": 4, "width": 64, "height": 64, "seed": 9%s}""";
        Base64.Encoder b64 = Base64.getEncoder();
        HttpResponse<String> r = f.post("/sdapi/v1/img2img", request.formatted(b64.encodeToString(init), b64.encodeToString(mask), ""));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode info = ServerFixture.JSON.readTree(ServerFixture.json(r).get("info").asText());
        assertThat(info.get("infotexts").get(0).asText()).contains("Mask blur: 0", "Denoising strength: 0.75");
        r = f.post("/sdapi/v1/img2img", request.formatted(b64.encodeToString(init), b64.encodeToString(mask), ", \"mask_blur\": 4"));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).startsWith("mask_blur: ");
    }

    @Test
    void openAiRequestsOverPlainHttp() throws Exception {
        HttpResponse<String> r = f.post("/v1/images/generations", "{\"prompt\": \"a fox\", \"n\": 1, \"size\": \"64x48\", \"model\": \"dall-e-2\", \"quality\": \"standard\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = ServerFixture.json(r);
        assertThat(body.get("created").asLong()).isCloseTo(System.currentTimeMillis() / 1000, org.assertj.core.data.Offset.offset(600L));
        BufferedImage png = ServerFixture.png(body.get("data").get(0).get("b64_json").asText());
        assertThat(png.getWidth()).isEqualTo(64);
        assertThat(png.getHeight()).isEqualTo(48);

        r = f.post("/v1/images/generations", "{\"prompt\": \"a fox\", \"size\": \"4096x4096\"}");
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(ServerFixture.json(r).get("error").get("param").asText()).isEqualTo("size");
        r = f.post("/v1/images/generations", "{\"prompt\": \"a fox\", \"size\": \"large\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("error").get("message").asText()).startsWith("size: ");
        r = f.post("/v1/images/generations", "{\"prompt\": \"a fox\", \"n\": 50}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("error").get("param").asText()).isEqualTo("n");
        r = f.post("/v1/images/generations", "{\"n\": 1}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("error").get("param").asText()).isEqualTo("prompt");
        r = f.post("/v1/images/generations", "{\"prompt\": \"a fox\", \"response_format\": \"url\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("error").get("type").asText()).isEqualTo("invalid_request_error");
        r = f.post("/v1/images/generations", "not json");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("error").get("message").asText()).contains("not valid JSON");
    }

    @Test
    void modelsAndSamplersInA1111Shapes() throws Exception {
        JsonNode models = ServerFixture.json(f.get("/sdapi/v1/sd-models"));
        assertThat(models).hasSize(1);
        assertThat(models.get(0).get("title").asText()).isNotEmpty();
        assertThat(models.get(0).get("filename").asText()).isEqualTo("pipeline-sd1-tiny");
        for (String k : new String[] {"title", "model_name", "hash", "sha256", "filename", "config"}) assertThat(models.get(0).has(k)).as(k).isTrue();
        JsonNode samplers = ServerFixture.json(f.get("/sdapi/v1/samplers"));
        assertThat(samplers).hasSize(SamplerKind.values().length);
        assertThat(samplers.findValuesAsText("name")).contains("Euler a", "Euler", "DDIM", "PLMS", "DPM++ 2M", "LCM");
        assertThat(samplers.get(0).get("aliases").isArray()).isTrue();
        assertThat(samplers.get(0).get("options").isObject()).isTrue();
    }

    @Test
    void progressShowsTheRunningStepsAndAPreviewAndInterruptStopsIt() throws Exception {
        JsonNode idle = ServerFixture.json(f.get("/sdapi/v1/progress"));
        assertThat(idle.get("progress").asDouble()).isZero();
        assertThat(idle.get("state").get("job_count").asInt()).isZero();
        assertThat(idle.get("current_image").isNull()).isTrue();

        var pending = f.http.sendAsync(java.net.http.HttpRequest.newBuilder(f.uri("/sdapi/v1/txt2img"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"prompt\": \"a lighthouse\", \"steps\": 150, \"width\": 256, \"height\": 256, \"seed\": 1}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        JsonNode p = null;
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            p = ServerFixture.json(f.get("/sdapi/v1/progress"));
            if (p.get("state").get("sampling_step").asInt() >= 2 && !p.get("current_image").isNull()) break;
            Thread.sleep(20);
        }
        assertThat(p.get("state").get("sampling_steps").asInt()).as(p.toString()).isEqualTo(150);
        assertThat(p.get("state").get("job_count").asInt()).isEqualTo(1);
        assertThat(p.get("progress").asDouble()).isBetween(0.0, 1.0).isPositive();
        assertThat(p.get("eta_relative").asDouble()).isPositive();
        BufferedImage preview = ServerFixture.png(p.get("current_image").asText());
        assertThat(preview.getWidth()).isEqualTo(256 / 8);   // the linear latent preview: one pixel per latent
        JsonNode skipped = ServerFixture.json(f.get("/sdapi/v1/progress?skip_current_image=true"));
        assertThat(skipped.get("current_image").isNull()).isTrue();

        HttpResponse<String> interrupt = f.post("/sdapi/v1/interrupt", "");
        assertThat(interrupt.statusCode()).isEqualTo(200);
        HttpResponse<String> stopped = pending.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(stopped.statusCode()).as(stopped.body()).isEqualTo(409);
        assertThat(ServerFixture.json(stopped).get("detail").asText()).contains("interrupted");
        assertThat(ServerFixture.json(f.get("/sdapi/v1/progress")).get("state").get("job_count").asInt()).isZero();
    }

    @Test
    void badRequestsGetAStatusAndAMessageNamingTheProblem() throws Exception {
        HttpResponse<String> r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", ");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).contains("not valid JSON");

        r = f.post("/sdapi/v1/txt2img", "[1, 2]");
        assertThat(r.statusCode()).isEqualTo(400);

        r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"width\": 8192, \"height\": 8192}");
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(ServerFixture.json(r).get("detail").asText()).contains("width", "8192x8192");

        r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"width\": 100}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).startsWith("width: ").contains("multiple of 8");

        r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"steps\": 100000}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).startsWith("steps: ");

        r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"batch_size\": 8, \"n_iter\": 8}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).startsWith("batch_size: ");

        r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"sampler_name\": \"Heun\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).contains("sampler_name", "Heun", "Euler a");

        r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"enable_hr\": true}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).startsWith("enable_hr: ");

        r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"steps\": \"many\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).startsWith("steps: expected an integer");

        r = f.post("/sdapi/v1/img2img", "{\"prompt\": \"x\", \"init_images\": [\"bm90IGFuIGltYWdl\"]}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(ServerFixture.json(r).get("detail").asText()).startsWith("init_images: ");

        r = f.post("/sdapi/v1/txt2img", "{\"prompt\": \"" + "x".repeat((int) Limits.DEFAULT.maxBodyBytes()) + "\"}");
        assertThat(r.statusCode()).isEqualTo(413);

        assertThat(f.get("/sdapi/v1/txt2img").statusCode()).isEqualTo(405);
        assertThat(f.get("/sdapi/v1/nothing").statusCode()).isEqualTo(404);
    }
}
