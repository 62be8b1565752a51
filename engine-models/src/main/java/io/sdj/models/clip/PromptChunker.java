package io.sdj.models.clip;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A1111's {@code tokenize_line}: each parsed fragment is tokenised on its own (no BOS/EOS, no truncation), then the
 * tokens are packed into chunks of 75 ({@code BREAK} starts a new chunk). When a chunk is full and its last comma is
 * at most 20 tokens back, the tokens after that comma move to the next chunk, so chunks end at a comma where they can.
 * Every chunk becomes BOS + 75 tokens (EOS-padded) + EOS, each token carrying its fragment's weight as a float.
 */
public final class PromptChunker {
    /** Prompt tokens per chunk for CLIP's 77 positions (BOS and EOS take two). */
    public static final int CHUNK = 75;
    /** A1111's {@code comma_padding_backtrack} default. */
    public static final int COMMA_BACKTRACK = 20;

    private final ClipTokenizer tokenizer;
    private final int comma, chunk;

    /**
     * {@code tokenizer} splits fragments into ids (its BOS and EOS frame the chunks); chunks hold its
     * {@code model_max_length} − 2 tokens ({@link #CHUNK} for every CLIP tokenizer).
     */
    public PromptChunker(ClipTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.chunk = tokenizer.maxLength() - 2;
        int[] c = tokenizer.tokenize(",");
        this.comma = c.length == 1 ? c[0] : -1;
    }

    /** The chunks of a prompt, and A1111's token count ("n/75": 75 per finished chunk plus the last one's tokens). */
    public record Chunks(List<PromptChunk> chunks, int tokenCount) {
        public Chunks { chunks = List.copyOf(chunks); }
    }

    /** Tokenises {@code fragments} (from {@link PromptAttentionParser}, or the whole text as one fragment of weight 1). */
    public Chunks chunk(List<WeightedText> fragments) {
        State s = new State();
        for (WeightedText f : fragments) {
            if (f.isBreak()) {
                s.next(false);
                continue;
            }
            float weight = (float) f.weight();
            for (int t : tokenizer.tokenize(f.text())) {
                if (t == comma) {
                    s.lastComma = s.size;
                } else if (COMMA_BACKTRACK != 0 && s.size == chunk && s.lastComma != -1 && s.size - s.lastComma <= COMMA_BACKTRACK) {
                    int from = s.lastComma + 1;
                    int[] movedT = Arrays.copyOfRange(s.tokens, from, s.size);
                    float[] movedW = Arrays.copyOfRange(s.weights, from, s.size);
                    s.size = from;
                    s.next(false);
                    System.arraycopy(movedT, 0, s.tokens, 0, movedT.length);
                    System.arraycopy(movedW, 0, s.weights, 0, movedW.length);
                    s.size = movedT.length;
                }
                if (s.size == chunk) s.next(false);
                s.tokens[s.size] = t;
                s.weights[s.size] = weight;
                s.size++;
            }
        }
        if (s.size > 0 || s.chunks.isEmpty()) s.next(true);
        return new Chunks(s.chunks, s.tokenCount);
    }

    private final class State {
        final List<PromptChunk> chunks = new ArrayList<>();
        final int[] tokens = new int[chunk];
        final float[] weights = new float[chunk];
        int size, lastComma = -1, tokenCount;

        void next(boolean last) {
            tokenCount += last ? size : chunk;
            int[] ids = new int[chunk + 2];
            float[] mult = new float[chunk + 2];
            Arrays.fill(ids, tokenizer.eosId());
            Arrays.fill(mult, 1f);
            ids[0] = tokenizer.bosId();
            System.arraycopy(tokens, 0, ids, 1, size);
            System.arraycopy(weights, 0, mult, 1, size);
            chunks.add(new PromptChunk(ids, mult));
            size = 0;
            lastComma = -1;
        }
    }
}
