package io.sdj.models.clip;

import io.sdj.core.Tensor;

/**
 * What the CLIP text encoder returns (heap tensors owned by the caller):
 * {@code lastHiddenState} [B,T,H] after the final layer norm (SD prompt embeddings), {@code pooled} [B,H] (row at the
 * first EOS), {@code penultimate} [B,T,H] = hidden_states[-2] without the final layer norm, and {@code clipSkip1}
 * = final_layer_norm(hidden_states[-2]) (diffusers' clip_skip=1 embeddings).
 */
public record ClipTextOutput(Tensor lastHiddenState, Tensor pooled, Tensor penultimate, Tensor clipSkip1) {

    /** The prompt embeddings for a clip-skip setting: 0 → last hidden state, 1 → {@link #clipSkip1}. */
    public Tensor promptEmbeddings(int clipSkip) {
        return switch (clipSkip) {
            case 0 -> lastHiddenState;
            case 1 -> clipSkip1;
            default -> throw new IllegalArgumentException("clip skip must be 0 or 1, got " + clipSkip);
        };
    }
}
