package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;
import io.sdj.models.clip.PromptSyntax;
import io.sdj.models.clip.WeightedPromptEncoder;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Stage 1 with the model's CLIP text encoder, as AUTOMATIC1111 conditions the UNet ({@link WeightedPromptEncoder}):
 * the request's prompt syntax (A1111 weights and {@code BREAK}, or plain text), prompts of any length in 75-token
 * chunks (nothing is truncated), optional clip skip, the rows repeated for the batch. With classifier-free guidance
 * the prompt and the negative prompt are encoded in one batch and the one with fewer chunks is padded with the encoded
 * empty prompt, so the UNet runs both as one batch. A plain prompt of ≤ 75 tokens gives exactly the embeddings of
 * diffusers' {@code encode_prompt}.
 */
public final class ClipPromptEncoder implements PromptEncoder {
    private final Map<PromptSyntax, WeightedPromptEncoder> encoders = new EnumMap<>(PromptSyntax.class);

    public ClipPromptEncoder(PipelineParts parts) {
        for (PromptSyntax s : PromptSyntax.values()) encoders.put(s, new WeightedPromptEncoder(parts.tokenizer(), parts.textEncoder(), s));
    }

    @Override
    public Tensor encode(Workspace ws, GenerationRequest r, boolean cfg) {
        WeightedPromptEncoder enc = encoders.get(r.promptSyntax());
        List<String> prompts = cfg ? List.of(r.negativePrompt(), r.prompt()) : List.of(r.prompt());
        Tensor emb = enc.encode(ws, prompts, r.clipSkip(), 1, Trace.NONE);   // [1 or 2, 77·k, D]
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
