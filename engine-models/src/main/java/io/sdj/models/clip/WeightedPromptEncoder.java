package io.sdj.models.clip;

import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import io.sdj.models.Trace;

import java.util.ArrayList;
import java.util.List;

/**
 * Prompts of any length, with A1111 attention weights, into text-encoder embeddings, as AUTOMATIC1111 conditions a
 * UNet: parse ({@link PromptAttentionParser}, or the whole text with {@link PromptSyntax#PLAIN}), chunk into 75-token
 * windows ({@link PromptChunker}), encode every chunk on its own (BOS … EOS, 77 positions), apply the "Original"
 * emphasis per chunk (scale each token's row by its weight, then rescale the chunk to its original mean) and
 * concatenate the chunks along the sequence: [1, 77·chunks, H] per prompt.
 *
 * <p>Flavours, decided by the tokenizer: SD1 (pad = EOS) and SD2 (pad ≠ EOS, {@code "!"} = id 0): in SD2 every
 * position after a chunk's first EOS becomes the pad id, and with the A1111 syntax fragments are tokenised as
 * open_clip does, where {@code "!"} is an ordinary character (diffusers' SD2 tokenizer splits it out as the pad token;
 * {@link PromptSyntax#PLAIN} keeps that behaviour, so a plain prompt of ≤ 75 tokens gives exactly the embeddings of
 * diffusers' pipeline).
 *
 * <p>Several prompts encoded together (prompt and negative prompt for classifier-free guidance) share one text-encoder
 * batch; when their chunk counts differ the shorter ones are padded with the encoded empty prompt, as A1111 does with
 * its option "Pad prompt/negative prompt" ({@code pad_cond_uncond}), so the UNet still runs them as one batch.
 * (A1111's default instead runs the UNet separately for prompt and negative prompt when the lengths differ; results
 * then differ slightly from this.)
 */
public final class WeightedPromptEncoder {
    private final ClipTextModel textModel;
    private final PromptSyntax syntax;
    private final PromptChunker chunker;
    private final int eos, pad;

    /** {@code tokenizer} is the model's (diffusers) tokenizer; its pad id tells SD1 from SD2. */
    public WeightedPromptEncoder(ClipTokenizer tokenizer, ClipTextModel textModel, PromptSyntax syntax) {
        this.textModel = textModel;
        this.syntax = syntax;
        this.eos = tokenizer.eosId();
        this.pad = tokenizer.padId();
        boolean sd2 = pad != eos;
        this.chunker = new PromptChunker(sd2 && syntax == PromptSyntax.A1111 ? tokenizer.withOrdinaryPadToken() : tokenizer);
    }

    public PromptSyntax syntax() { return syntax; }

    /** Steps 1–3: the prompt's chunks (tokens EOS-padded, before the SD2 pad replacement) and weights. */
    public PromptChunker.Chunks tokenize(String prompt) {
        List<WeightedText> fragments = syntax == PromptSyntax.A1111
                ? PromptAttentionParser.parse(prompt) : List.of(new WeightedText(prompt, 1.0));
        return chunker.chunk(fragments);
    }

    /** The ids the text encoder gets for a chunk (SD2: pad after the first EOS). */
    public int[] modelInput(PromptChunk c) { return c.modelInput(eos, pad); }

    /**
     * Encodes prompts as one text-encoder batch: [prompts.size(), 77·k, H] with k = the largest chunk count (at least
     * {@code minChunks}); shorter prompts are followed by copies of the encoded empty prompt.
     * @param clipSkip 0: the last layer; 1: the layer before it, through the final layer norm (A1111 "Clip skip 2")
     * @param trace    receives {@code z_raw} (the encoder output of the first prompt's chunks, before emphasis)
     */
    public Tensor encode(Workspace ws, List<String> prompts, int clipSkip, int minChunks, Trace trace) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompt to encode");
        List<PromptChunker.Chunks> tokenized = new ArrayList<>();
        int k = Math.max(1, minChunks);
        for (String p : prompts) {
            PromptChunker.Chunks c = tokenize(p);
            tokenized.add(c);
            k = Math.max(k, c.chunks().size());
        }
        boolean padding = false;
        for (PromptChunker.Chunks c : tokenized) padding |= c.chunks().size() < k;
        List<PromptChunk> all = new ArrayList<>();
        for (PromptChunker.Chunks c : tokenized) all.addAll(c.chunks());
        if (padding) all.add(tokenize("").chunks().get(0));   // the empty prompt: one chunk, all weights 1
        int[][] ids = new int[all.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = modelInput(all.get(i));
        ClipTextOutput enc = textModel.forward(ws, ids, Trace.NONE);
        Tensor z = enc.promptEmbeddings(clipSkip);              // [chunks, 77, H]
        int t = z.dim(1), h = z.dim(2), row = t * h;
        float[] zd = z.data();
        int first = tokenized.get(0).chunks().size();
        trace.record("z_raw", Tensor.of(java.util.Arrays.copyOf(zd, first * row), 1, first * t, h));
        for (int i = 0; i < all.size(); i++) emphasize(zd, i * row, t, h, all.get(i).multipliers());
        Tensor out = Tensor.zeros(prompts.size(), k * t, h);
        int at = 0;
        for (int p = 0; p < prompts.size(); p++) {
            int n = tokenized.get(p).chunks().size();
            System.arraycopy(zd, at * row, out.data(), p * k * row, n * row);
            for (int c = n; c < k; c++) System.arraycopy(zd, (all.size() - 1) * row, out.data(), (p * k + c) * row, row);
            at += n;
        }
        return out;
    }

    /**
     * A1111's "Original" emphasis on one chunk z [T, H] in float32: mean0 = mean(z); z[t] *= m[t]; z *= mean0 / mean(z).
     * A chunk whose weights are all 1 is left exactly as it is.
     */
    static void emphasize(float[] z, int off, int t, int h, float[] m) {
        boolean weighted = false;
        for (float v : m) weighted |= v != 1f;
        if (!weighted) return;
        float mean0 = mean(z, off, t * h);
        for (int i = 0; i < t; i++) for (int c = 0; c < h; c++) z[off + i * h + c] *= m[i];
        float mean1 = mean(z, off, t * h);
        float scale = mean0 / mean1;
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("prompt weights: a 75-token chunk's weights cancel its embedding (mean "
                    + mean1 + " after weighting); use weights that are not all 0");
        }
        for (int i = 0; i < t * h; i++) z[off + i] *= scale;
    }

    private static float mean(float[] z, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += z[off + i];
        return (float) (s / n);
    }
}
