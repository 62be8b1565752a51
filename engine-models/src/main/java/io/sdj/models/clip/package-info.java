/**
 * The CLIP text side of Stable Diffusion: {@link io.sdj.models.clip.ClipTokenizer} (byte-level BPE, reproducing
 * transformers' CLIPTokenizer without ftfy, SD1 EOS padding or SD2 '!' padding) and
 * {@link io.sdj.models.clip.ClipTextModel} (transformers' CLIPTextModel: last hidden state, pooled output,
 * penultimate layer and its clip-skip normalisation).
 */
package io.sdj.models.clip;
