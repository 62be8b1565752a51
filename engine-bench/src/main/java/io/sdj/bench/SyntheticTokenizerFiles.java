package io.sdj.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;

/**
 * Tokenizer files for benchmarks, in CLIP's format but without CLIP's 49k merges: the printable ASCII symbols with
 * and without the end-of-word marker and the two special tokens at CLIP's ids (49406 start, 49407 end/pad), and no
 * merges, so every word becomes one id per character. Prompt cost is negligible next to the models, and the encoder
 * always sees 77 positions, so this does not change what the benchmarks measure.
 */
public final class SyntheticTokenizerFiles {
    private SyntheticTokenizerFiles() {}

    /** vocab.json, merges.txt and tokenizer_config.json contents, as {@code ModelSource.tokenizerFiles()} returns them. */
    public static Map<String, String> files() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode vocab = json.createObjectNode();
        for (char ch = '!'; ch <= '~'; ch++) {
            vocab.put(String.valueOf(ch), ch - '!');
            vocab.put(ch + "</w>", 256 + (ch - '!'));
        }
        vocab.put("<|startoftext|>", 49406);
        vocab.put("<|endoftext|>", 49407);
        ObjectNode config = json.createObjectNode();
        config.put("model_max_length", 77).put("bos_token", "<|startoftext|>").put("eos_token", "<|endoftext|>")
                .put("unk_token", "<|endoftext|>").put("pad_token", "<|endoftext|>");
        return Map.of("vocab.json", vocab.toString(), "merges.txt", "#version: 0.2\n", "tokenizer_config.json", config.toString());
    }
}
