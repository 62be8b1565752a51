package io.sdj.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsTest {
    @TempDir
    Path tmp;

    private Path write(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (int i = 0; i < dataBytes / 4; i++) b.putFloat(i + 0.5f);
        Path p = tmp.resolve("t" + System.nanoTime() + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    @Test
    void readsValidFile() throws IOException {
        Path p = write("{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16);
        try (Safetensors st = Safetensors.open(p)) {
            assertThat(st.floats("a")).containsExactly(0.5f, 1.5f);
            assertThat(st.floats("b")).containsExactly(2.5f, 3.5f);
            assertThat(st.metadata()).containsEntry("format", "pt");
        }
    }

    @Test
    void rejectsGapOverlapTruncationAndBadShapes() throws IOException {
        String two = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        assertThatThrownBy(() -> Safetensors.open(write("{" + two + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16)))
                .hasMessageContaining("'b'").hasMessageContaining("gap");
        assertThatThrownBy(() -> Safetensors.open(write("{" + two + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)))
                .hasMessageContaining("overlap");
        assertThatThrownBy(() -> Safetensors.open(write("{" + two + "}", 4))).hasMessageContaining("truncated");
        assertThatThrownBy(() -> Safetensors.open(write("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)))
                .hasMessageContaining("'a'").hasMessageContaining("[3]");
        assertThatThrownBy(() -> Safetensors.open(write("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8)))
                .hasMessageContaining("unknown dtype 'Q4'");
        assertThatThrownBy(() -> Safetensors.open(write("{\"a\":", 0))).hasMessageContaining("malformed");
    }

    @Test
    void rejectsHugeHeaderLength() throws IOException {
        Path p = tmp.resolve("huge.safetensors");
        Files.write(p, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).array());
        assertThatThrownBy(() -> Safetensors.open(p)).hasMessageContaining("limit");
    }
}
