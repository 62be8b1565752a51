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

    private Path writeBytes(byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Path p = tmp.resolve("b" + System.nanoTime() + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    /** What the reference implementation (the Rust safetensors crate) refuses, this reader refuses too. */
    @Test
    void matchesTheReferenceStrictness() throws IOException {
        String a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        // trailing bytes after the JSON object inside the header (whitespace padding is fine)
        assertThatThrownBy(() -> Safetensors.open(write("{" + a + "}xyz", 8))).hasMessageContaining("after the header JSON");
        assertThatThrownBy(() -> Safetensors.open(write("{" + a + "}{}", 8))).hasMessageContaining("after the header JSON");
        try (Safetensors st = Safetensors.open(write("{" + a + "}      ", 8))) {
            assertThat(st.entries()).containsKey("a");
        }
        // invalid UTF-8 in a name is an error, not silently replaced
        byte[] bad = ("{\"x\u00ff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}").getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> Safetensors.open(writeBytes(bad, 8))).hasMessageContaining("UTF-8");
        // offsets that do not fit 64 bits (or a signed long) are refused, not truncated
        assertThatThrownBy(() -> Safetensors.open(write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[18446744073709551616,18446744073709551624]}}", 8)))
                .hasMessageContaining("'a'").hasMessageContaining("data_offsets");
        assertThatThrownBy(() -> Safetensors.open(write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551624]}}", 8)))
                .hasMessageContaining("'a'").hasMessageContaining("data_offsets");
        // an empty header (length 0) and a header that is not an object
        assertThatThrownBy(() -> Safetensors.open(writeBytes(new byte[0], 0))).hasMessageContaining("header");
        assertThatThrownBy(() -> Safetensors.open(write("[]", 0))).hasMessageContaining("header");
    }

    /** Shapes whose element count overflows name the file and the tensor (no bare "long overflow"). */
    @Test
    void shapeOverflowNamesTheTensor() throws IOException {
        assertThatThrownBy(() -> Safetensors.open(write("{\"big\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", 8)))
                .isInstanceOf(WeightsFormatException.class).hasMessageContaining("'big'").hasMessageContaining("overflow");
        assertThatThrownBy(() -> Safetensors.open(write("{\"big\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}", 8)))
                .isInstanceOf(WeightsFormatException.class).hasMessageContaining("'big'");
    }

    /** A 1 MB tensor name does not make a 1 MB error line. */
    @Test
    void errorMessagesCapQuotedNames() throws IOException {
        String name = "n".repeat(40_000);
        Path p = write("{\"" + name + "\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        assertThatThrownBy(() -> Safetensors.open(p)).isInstanceOf(WeightsFormatException.class)
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(2000))
                .hasMessageContaining("40000 characters");
        // past the JSON parser's own name limit the error is short too
        Path huge = write("{\"" + "n".repeat(1_000_000) + "\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        assertThatThrownBy(() -> Safetensors.open(huge)).isInstanceOf(WeightsFormatException.class)
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(2000));
    }

    /** A tensor whose dims exceed an int cannot be read as one, and says so by name. */
    @Test
    void intShapeOverflowNamesTheTensor() throws IOException {
        try (Safetensors st = Safetensors.open(write("{\"wide\":{\"dtype\":\"U8\",\"shape\":[1,0,3000000000],\"data_offsets\":[0,0]}}", 0))) {
            assertThatThrownBy(() -> st.entry("wide").intShape()).isInstanceOf(WeightsFormatException.class).hasMessageContaining("'wide'");
        }
    }
}
