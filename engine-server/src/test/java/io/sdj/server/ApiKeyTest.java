package io.sdj.server;

import io.sdj.models.pipeline.Txt2Img;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bearer key: checked on every API request, required off loopback. */
class ApiKeyTest {
    @Test
    void everyApiRequestNeedsTheKey() throws Exception {
        try (Txt2Img sd = ServerFixture.loadGolden();
             ServerFixture f = new ServerFixture(sd, ServerSettings.loopback(0).withApiKey("s3cret-key"))) {
            HttpResponse<String> none = f.get("/sdapi/v1/samplers");
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer");
            assertThat(ServerFixture.json(none).get("detail").asText()).contains("Authorization: Bearer");
            assertThat(f.get("/sdapi/v1/samplers", "Authorization", "Bearer s3cret-kez").statusCode()).isEqualTo(401);
            assertThat(f.get("/sdapi/v1/samplers", "Authorization", "Bearer s3cret-key-and-more").statusCode()).isEqualTo(401);
            assertThat(f.get("/sdapi/v1/samplers", "Authorization", "Basic s3cret-key").statusCode()).isEqualTo(401);
            assertThat(f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"steps\": 1, \"width\": 64, \"height\": 64}").statusCode()).isEqualTo(401);
            HttpResponse<String> openai = f.post("/v1/images/generations", "{\"prompt\": \"x\"}", "Authorization", "Bearer wrong");
            assertThat(openai.statusCode()).isEqualTo(401);
            assertThat(ServerFixture.json(openai).get("error").get("message").asText()).isEqualTo("wrong API key");
            assertThat(f.get("/sdapi/v1/samplers", "Authorization", "Bearer s3cret-key").statusCode()).isEqualTo(200);
            assertThat(f.post("/sdapi/v1/txt2img", "{\"prompt\": \"x\", \"steps\": 1, \"width\": 64, \"height\": 64}",
                    "Authorization", "Bearer s3cret-key").statusCode()).isEqualTo(200);
            // the page itself holds no data and a browser cannot send the header when it opens it
            assertThat(f.get("/").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void listeningOffLoopbackNeedsAKey() {
        assertThatThrownBy(() -> new ServerSettings("0.0.0.0", 7860, null, 4, 1, Limits.DEFAULT, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0.0.0.0").hasMessageContaining("--api-key");
        assertThat(new ServerSettings("0.0.0.0", 7860, "k", 4, 1, Limits.DEFAULT, 1).apiKey()).isEqualTo("k");
        assertThat(ServerSettings.isLoopback("127.0.0.1")).isTrue();
        assertThat(ServerSettings.isLoopback("::1")).isTrue();
        assertThat(ServerSettings.isLoopback("localhost")).isTrue();
        assertThat(ServerSettings.isLoopback("0.0.0.0")).isFalse();
        assertThat(ServerSettings.isLoopback("::")).isFalse();
    }

    @Test
    void theKeyComparisonAcceptsOnlyTheExactKey() {
        ApiKey k = new ApiKey("abc");
        assertThat(k.accepts("Bearer abc")).isTrue();
        assertThat(k.accepts("bearer abc")).isTrue();
        assertThat(k.accepts("Bearer abd")).isFalse();
        assertThat(k.accepts("Bearer ab")).isFalse();
        assertThat(k.accepts("Bearer ")).isFalse();
        assertThat(k.accepts("abc")).isFalse();
        assertThat(k.accepts(null)).isFalse();
    }
}
