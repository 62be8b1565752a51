package io.sdj.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.verify.GoldenCase;
import io.sdj.weights.Safetensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every prompt of the {@code tokenizer-clip} reference case, SD1 (EOS padding) and SD2 ('!' padding) variants. */
class ClipTokenizerGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path dir;
    private static List<String> prompts;
    private static ClipTokenizer sd1, sd2;
    private static long[] ids, idsSd2, lengths, lengthsSd2, flat, offsets;

    @BeforeAll
    static void load() throws IOException {
        dir = GoldenCase.goldenDir().resolve("tokenizer-clip");
        assumeTrue(Files.isDirectory(dir), "golden case tokenizer-clip not found at " + dir + " (set -Dgolden.dir)");
        String vocab = Files.readString(dir.resolve("vocab.json"));
        String merges = Files.readString(dir.resolve("merges.txt"));
        String config = Files.readString(dir.resolve("tokenizer_config.json"));
        sd1 = ClipTokenizer.load(vocab, merges, config);
        ObjectNode c2 = (ObjectNode) JSON.readTree(config);
        c2.put("pad_token", "!");
        sd2 = ClipTokenizer.load(vocab, merges, JSON.writeValueAsString(c2));
        prompts = new ArrayList<>();
        for (JsonNode p : JSON.readTree(dir.resolve("prompts.json").toFile())) prompts.add(p.asText());
        try (Safetensors out = Safetensors.open(dir.resolve("outputs.safetensors"))) {
            ids = out.longs("input_ids");
            idsSd2 = out.longs("input_ids_sd2");
            lengths = out.longs("lengths");
            lengthsSd2 = out.longs("lengths_sd2");
            flat = out.longs("tokens_flat");
            offsets = out.longs("tokens_offsets");
        }
    }

    @Test
    void primaryIdsMatchEveryPrompt() {
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            int[] got = sd1.withTruncationListener(m -> { }).encode(prompts.get(i));
            long[] want = Arrays.copyOfRange(ids, i * 77, (i + 1) * 77);
            if (!Arrays.equals(toLong(got), want)) failures.add(i + " " + show(prompts.get(i)) + "\n  got  " + Arrays.toString(got) + "\n  want " + Arrays.toString(want));
            else if (sd1.encodedLength(prompts.get(i)) != lengths[i]) failures.add(i + " length " + show(prompts.get(i)));
        }
        assertThat(failures).as("prompts whose ids differ").isEmpty();
    }

    @Test
    void untruncatedTokensMatchEveryPrompt() {
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            long[] want = Arrays.copyOfRange(flat, (int) offsets[i], (int) offsets[i + 1]);
            int[] got = sd1.tokenize(prompts.get(i));
            if (!Arrays.equals(toLong(got), want)) failures.add(i + " " + show(prompts.get(i)));
        }
        assertThat(failures).as("prompts whose untruncated tokens differ").isEmpty();
    }

    @Test
    void sd2IdsMatchEveryPrompt() {
        assertThat(sd2.padId()).isZero();
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            int[] got = sd2.withTruncationListener(m -> { }).encode(prompts.get(i));
            long[] want = Arrays.copyOfRange(idsSd2, i * 77, (i + 1) * 77);
            if (!Arrays.equals(toLong(got), want)) failures.add(i + " " + show(prompts.get(i)) + "\n  got  " + Arrays.toString(got) + "\n  want " + Arrays.toString(want));
            else if (sd2.encodedLength(prompts.get(i)) != lengthsSd2[i]) failures.add(i + " length " + show(prompts.get(i)));
        }
        assertThat(failures).as("prompts whose SD2 ids differ").isEmpty();
    }

    @Test
    void longPromptsAreTruncatedWithAWarning() {
        int warned = 0, longOnes = 0;
        for (int i = 0; i < prompts.size(); i++) {
            List<String> warnings = new ArrayList<>();
            sd1.withTruncationListener(warnings::add).encode(prompts.get(i));
            boolean isLong = offsets[i + 1] - offsets[i] > 75;
            if (isLong) longOnes++;
            assertThat(warnings).as("warnings for prompt %d", i).hasSize(isLong ? 1 : 0);
            if (isLong) {
                warned++;
                assertThat(warnings.get(0)).contains("truncated").contains(String.valueOf(offsets[i + 1] - offsets[i]));
            }
        }
        assertThat(longOnes).isEqualTo(8);
        assertThat(warned).isEqualTo(8);
    }

    private static long[] toLong(int[] a) { return Arrays.stream(a).asLongStream().toArray(); }

    private static String show(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> { if (cp < 0x20 || cp > 0x7e) sb.append(String.format("\\u{%x}", cp)); else sb.appendCodePoint(cp); });
        return sb.append('"').toString();
    }
}
