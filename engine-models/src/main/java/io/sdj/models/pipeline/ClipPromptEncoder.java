package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.clip.ClipTextOutput;
import io.sdj.models.clip.ClipTokenizer;

import java.util.Arrays;

/**
 * The plain prompt encoding of diffusers' {@code encode_prompt}: each prompt tokenized to the text encoder's 77
 * tokens (longer prompts are truncated, with a warning), encoded by CLIP (optionally the penultimate layer,
 * {@code clip_skip}), the rows repeated for the batch.
 */
public final class ClipPromptEncoder implements PromptEncoder {
    private final PipelineParts parts;

    public ClipPromptEncoder(PipelineParts parts) {
        this.parts = parts;
    }

    @Override
    public Tensor encode(Workspace ws, GenerationRequest r, boolean cfg) {
        ClipTokenizer tok = parts.tokenizer();
        if (r.warnings() != null) tok = tok.withTruncationListener(m -> r.warnings().accept(m));
        int[] cond = tok.encode(r.prompt());
        ClipTokenizer negTok = r.warnings() == null ? tok
                : parts.tokenizer().withTruncationListener(m -> r.warnings().accept("negative " + m));
        int[][] ids = cfg ? new int[][]{negTok.encode(r.negativePrompt()), cond} : new int[][]{cond};
        ClipTextOutput enc = parts.textEncoder().forward(ws, ids, Trace.NONE);
        Tensor emb = enc.promptEmbeddings(r.clipSkip());           // [1 or 2, T, D]
        int tokens = emb.dim(1), dim = emb.dim(2), row = tokens * dim;
        float[] e = emb.data();
        Trace trace = r.trace();
        if (cfg) {
            trace.record("negative_prompt_embeds", Tensor.of(Arrays.copyOfRange(e, 0, row), 1, tokens, dim));
            trace.record("prompt_embeds", Tensor.of(Arrays.copyOfRange(e, row, 2 * row), 1, tokens, dim));
        } else {
            trace.record("prompt_embeds", emb);
        }
        return repeatRows(e, cfg, r.batch(), tokens, dim);
    }

    /** [uncond × n, cond × n] from [uncond, cond] (with CFG), or [cond × n] from [cond]. */
    static Tensor repeatRows(float[] e, boolean cfg, int n, int tokens, int dim) {
        int row = tokens * dim, rows = cfg ? 2 * n : n;
        Tensor context = Tensor.zeros(rows, tokens, dim);
        for (int i = 0; i < rows; i++) {
            int src = cfg && i >= n ? row : 0;
            System.arraycopy(e, src, context.data(), i * row, row);
        }
        return context;
    }
}
