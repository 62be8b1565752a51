package io.sdj.models.clip;

/**
 * One 77-token window of a long prompt as A1111 builds it: {@code tokens} = BOS, 75 prompt tokens (padded with EOS),
 * EOS; {@code multipliers} the per-token weights as float32 (1.0 for BOS, EOS and padding).
 */
public record PromptChunk(int[] tokens, float[] multipliers) {

    public PromptChunk {
        if (tokens.length != multipliers.length) {
            throw new IllegalArgumentException("prompt chunk: " + tokens.length + " tokens but " + multipliers.length + " multipliers");
        }
        tokens = tokens.clone();
        multipliers = multipliers.clone();
    }

    @Override
    public int[] tokens() { return tokens.clone(); }

    @Override
    public float[] multipliers() { return multipliers.clone(); }

    /** The ids the text encoder gets: every position after the first {@code eos} replaced by {@code pad} (SD2's 0). */
    public int[] modelInput(int eos, int pad) {
        int[] ids = tokens.clone();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == eos) {
                for (int j = i + 1; j < ids.length; j++) ids[j] = pad;
                break;
            }
        }
        return ids;
    }

    /** Whether every multiplier is 1 (the emphasis leaves the chunk unchanged). */
    public boolean unweighted() {
        for (float m : multipliers) if (m != 1f) return false;
        return true;
    }
}
