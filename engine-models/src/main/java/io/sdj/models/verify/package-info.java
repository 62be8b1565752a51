/**
 * Verification against the golden reference cases: {@link io.sdj.models.verify.GoldenCase} reads a case,
 * {@link io.sdj.models.verify.ComponentRunners} picks the runner of its component (tokenizer, text_encoder, unet,
 * vae_decoder/encoder, taesd_decoder/encoder, scheduler, rng, pipeline), which produces the case's outputs (and
 * traced intermediates) from its inputs, and {@link io.sdj.models.verify.CaseVerifier} compares them with the
 * reference within the case tolerances. {@code sdj verify} prints the result.
 */
package io.sdj.models.verify;
