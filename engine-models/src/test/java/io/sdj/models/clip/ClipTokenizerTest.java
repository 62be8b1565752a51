package io.sdj.models.clip;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tokenizer behaviour on a tiny hand-made vocabulary (independent of the reference files). */
class ClipTokenizerTest {
    // symbols: a, b, c, "ab</w>", "c</w>", "a</w>", "b</w>", "ab", specials
    private static final String VOCAB = """
            {"!": 0, "a": 1, "b": 2, "c": 3, "a</w>": 4, "b</w>": 5, "c</w>": 6, "ab": 7, "ab</w>": 8, "abc</w>": 9,
             "!</w>": 10, "<|startoftext|>": 11, "<|endoftext|>": 12}""";
    private static final String MERGES = "#version: 0.2\na b\nab c</w>\na b</w>\n";
    private static final String CONFIG = "{\"model_max_length\": 6}";

    @Test
    void mergesByRankAndMarksWordEnds() {
        ClipTokenizer t = ClipTokenizer.load(VOCAB, MERGES, CONFIG);
        assertThat(t.tokenize("abc")).containsExactly(9);
        assertThat(t.tokenize("ab")).containsExactly(8);
        assertThat(t.tokenize("ABC  a\tb")).containsExactly(9, 4, 5);
        assertThat(t.tokenize("c!")).containsExactly(6, 10);
    }

    @Test
    void padsWithEosAndTruncatesWithAWarning() {
        List<String> warnings = new ArrayList<>();
        ClipTokenizer t = ClipTokenizer.load(VOCAB, MERGES, CONFIG).withTruncationListener(warnings::add);
        assertThat(t.encode("abc")).containsExactly(11, 9, 12, 12, 12, 12);
        assertThat(warnings).isEmpty();
        assertThat(t.encode("a b c a b")).containsExactly(11, 4, 5, 6, 4, 12);
        assertThat(warnings).singleElement().asString().contains("truncated").contains("5 tokens");
    }

    @Test
    void aSpecialPadTokenIsSplitOutOfTheText() {
        ClipTokenizer t = ClipTokenizer.load(VOCAB, MERGES, "{\"model_max_length\": 6, \"pad_token\": \"!\"}");
        assertThat(t.encode("c!")).containsExactly(11, 6, 0, 12, 0, 0);
        assertThat(t.encode("a<|endoftext|>b")).containsExactly(11, 4, 12, 5, 12, 0);
    }

    @Test
    void rejectsBrokenFiles() {
        assertThatThrownBy(() -> ClipTokenizer.load("{", MERGES, CONFIG)).hasMessageContaining("vocab.json");
        assertThatThrownBy(() -> ClipTokenizer.load(VOCAB, "", CONFIG)).hasMessageContaining("merges.txt");
        assertThatThrownBy(() -> ClipTokenizer.load(VOCAB, "#v\na b c\n", CONFIG)).hasMessageContaining("merges.txt line 2");
        assertThatThrownBy(() -> ClipTokenizer.load(VOCAB, MERGES, "{\"pad_token\": \"zz\"}")).hasMessageContaining("pad_token 'zz'");
    }
}
