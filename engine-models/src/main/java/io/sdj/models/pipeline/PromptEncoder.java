package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;

/**
 * Stage 1 of every pipeline: prompt (and negative prompt) → the text embeddings the UNet attends to, one row per
 * UNet batch row: {@code [negative × batch, positive × batch]} with classifier-free guidance, {@code [positive × batch]}
 * without. Implementations record {@code prompt_embeds} (and {@code negative_prompt_embeds}) to the request's trace.
 */
@FunctionalInterface
public interface PromptEncoder {
    /** @return a new [rows, T, D] tensor, rows = (cfg ? 2 : 1) × batch */
    Tensor encode(Workspace ws, GenerationRequest request, boolean cfg);
}
