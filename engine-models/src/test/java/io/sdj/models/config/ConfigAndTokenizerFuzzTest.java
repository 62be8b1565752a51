package io.sdj.models.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sdj.models.clip.ClipTextConfig;
import io.sdj.models.clip.ClipTokenizer;
import io.sdj.models.sampling.SchedulerConfig;
import io.sdj.models.unet.UNetConfig;
import io.sdj.models.vae.VaeConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Seeded mutation fuzzing (bounded) of config parsing and the tokenizer, starting from the golden fixtures' real
 * files: every mutant parses or is refused with an {@link IllegalArgumentException} (one line, short) — never another
 * exception type; the tokenizer turns any text into 77 in-vocabulary ids.
 */
class ConfigAndTokenizerFuzzTest {
    private static final ObjectMapper JSON = SchedulerConfig.jsonMapper();
    private static final int MUTANTS = 400;

    private static Path golden() {
        Path p = Path.of(System.getProperty("golden.dir", "../shared/golden"));
        assumeTrue(Files.isDirectory(p), "golden fixtures not found at " + p.toAbsolutePath());
        return p;
    }

    private static JsonNode read(Path p) throws IOException {
        return JSON.readTree(Files.readString(p));
    }

    static void mutate(JsonNode root, Random r) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        JsonNode c = containers.get(r.nextInt(containers.size()));
        JsonNodeFactory f = JsonNodeFactory.instance;
        JsonNode[] values = {f.numberNode(-1), f.numberNode(0), f.numberNode(Integer.MAX_VALUE), f.numberNode(Long.MAX_VALUE),
                f.numberNode(new java.math.BigInteger("18446744073709551617")), f.numberNode(1e30), f.numberNode(0.5), f.numberNode(Double.NaN),
                f.textNode("x"), f.textNode(""), f.nullNode(), f.booleanNode(true), f.arrayNode(), f.arrayNode().add(1).add(2),
                f.objectNode(), f.textNode("CrossAttnDownBlock2D"), f.textNode("relu")};
        if (c instanceof ObjectNode o && o.size() > 0) {
            List<String> keys = new ArrayList<>();
            o.fieldNames().forEachRemaining(keys::add);
            String k = keys.get(r.nextInt(keys.size()));
            switch (r.nextInt(3)) {
                case 0 -> o.remove(k);
                case 1 -> o.set(k, values[r.nextInt(values.length)]);
                default -> {
                    if (o.get(k).isArray() && o.get(k).size() > 0) ((ArrayNode) o.get(k)).add(o.get(k).get(0));
                    else o.set(k, values[r.nextInt(values.length)]);
                }
            }
        } else if (c instanceof ArrayNode a && a.size() > 0) {
            int i = r.nextInt(a.size());
            if (r.nextBoolean()) a.remove(i);
            else a.set(i, values[r.nextInt(values.length)]);
        }
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) collect(it.next(), out);
        }
    }

    private static void fuzz(String what, JsonNode base, long seed, Consumer<JsonNode> parse) {
        parse.accept(base);   // the unmutated config parses
        Random r = new Random(seed);
        for (int i = 0; i < MUTANTS; i++) {
            JsonNode m = base.deepCopy();
            for (int k = 1 + r.nextInt(3); k > 0; k--) mutate(m, r);
            try {
                parse.accept(m);
            } catch (IllegalArgumentException e) {
                assertThat(e.getMessage()).as(what + " mutant " + i + ": " + m).isNotBlank();
                assertThat(e.getMessage().length()).as(what + " mutant " + i + " message").isLessThan(1000);
                assertThat(e.getMessage()).as(what + " mutant " + i).doesNotContain("\n");
            } catch (Throwable t) {
                throw new AssertionError(what + " mutant " + i + " threw " + t + " for " + m, t);
            }
        }
    }

    @Test
    void unetConfigs() throws IOException {
        for (String c : List.of("unet-sd1-tiny", "unet-sd2-tiny", "unet-lcm-tiny", "unet-bksdm-tiny")) {
            fuzz(c, read(golden().resolve(c).resolve("config.json")), c.hashCode(), UNetConfig::fromJson);
        }
    }

    @Test
    void vaeTextEncoderAndSchedulerConfigs() throws IOException {
        fuzz("vae", read(golden().resolve("vae-sd-tiny-decoder/config.json")), 11, VaeConfig::fromJson);
        fuzz("text encoder", read(golden().resolve("text-encoder-sd1-tiny/config.json")), 12, ClipTextConfig::fromJson);
        fuzz("scheduler", read(golden().resolve("scheduler-ddim/config.json")), 13, SchedulerConfig::fromJson);
    }

    @Test
    void tokenizerTurnsAnyTextIntoInVocabularyIds() throws IOException {
        Path dir = golden().resolve("tokenizer-clip");
        ClipTokenizer tok = ClipTokenizer.load(Files.readString(dir.resolve("vocab.json")), Files.readString(dir.resolve("merges.txt")),
                Files.readString(dir.resolve("tokenizer_config.json")));
        Random r = new Random(77);
        int[][] ranges = {{0x20, 0x7E}, {0x00, 0x1F}, {0xA0, 0x2FF}, {0x300, 0x36F}, {0x4E00, 0x9FFF}, {0x1F300, 0x1FAFF}, {0xD800, 0xDFFF},
                {0xFFF0, 0xFFFF}, {0x200B, 0x200F}, {0x10000, 0x10FFFF}};
        long deadline = System.nanoTime() + 8_000_000_000L;
        for (int i = 0; i < 2000 && System.nanoTime() < deadline; i++) {
            StringBuilder sb = new StringBuilder();
            int len = r.nextInt(i % 50 == 0 ? 5000 : 60);
            for (int k = 0; k < len; k++) {
                int[] range = ranges[r.nextInt(ranges.length)];
                int cp = range[0] + r.nextInt(range[1] - range[0] + 1);
                if (cp >= 0xD800 && cp <= 0xDFFF) sb.append((char) cp);   // a lone surrogate, as broken input has
                else sb.appendCodePoint(cp);
            }
            String text = sb.toString();
            int[] ids;
            try {
                ids = tok.encode(text);
            } catch (Throwable t) {
                throw new AssertionError("tokenizer threw " + t + " for text of " + text.length() + " chars (case " + i + ")", t);
            }
            assertThat(ids).hasSize(77);
            assertThat(ids[0]).isEqualTo(tok.bosId());
            for (int id : ids) assertThat(id).isBetween(0, tok.vocabSize() - 1);
        }
    }

    @Test
    void tokenizerFilesMutated() throws IOException {
        Path dir = golden().resolve("tokenizer-clip");
        String vocab = Files.readString(dir.resolve("vocab.json")), merges = Files.readString(dir.resolve("merges.txt"));
        String config = Files.readString(dir.resolve("tokenizer_config.json"));
        JsonNode configJson = read(dir.resolve("tokenizer_config.json"));
        Random r = new Random(5);
        String[] mergeLines = merges.split("\n");
        for (int i = 0; i < 16; i++) {
            String v = vocab, m = merges, c = config;
            switch (i % 4) {
                case 0 -> v = vocab.substring(0, r.nextInt(vocab.length()));
                case 1 -> {
                    StringBuilder sb = new StringBuilder();
                    for (int k = 0; k < 300; k++) sb.append(mergeLines[r.nextInt(mergeLines.length)]).append(r.nextInt(10) == 0 ? " z q\n" : "\n");
                    m = (r.nextBoolean() ? "#version: 0.2\n" : "") + sb + (r.nextBoolean() ? "broken-line-without-space\n" : "");
                }
                case 2 -> {
                    JsonNode mc = configJson.deepCopy();
                    mutate(mc, r);
                    c = mc.toString();
                }
                default -> v = vocab.replace("\"<|endoftext|>\"", r.nextBoolean() ? "\"<|end|>\"" : "\"<|endoftext|>x\"");
            }
            try {
                ClipTokenizer t = ClipTokenizer.load(v, m, c);
                int[] ids = t.encode("a photo of a fox, highly detailed");
                assertThat(ids).hasSize(t.maxLength());
            } catch (IllegalArgumentException e) {
                assertThat(e.getMessage().length()).as("case " + i).isLessThan(1000);
            } catch (Throwable t) {
                throw new AssertionError("tokenizer files mutant " + i + " threw " + t, t);
            }
        }
    }
}
