package io.sdj.models.verify;

/** Runs one kind of reference case (a {@code component} of the golden README) on the case's own inputs. */
@FunctionalInterface
public interface ComponentRunner {
    /**
     * Produces every output of {@code outputs.safetensors} it can; with {@code intermediates}, also records the first
     * run's activations under their {@code intermediates.safetensors} names.
     */
    CaseOutputs run(GoldenCase c, boolean intermediates) throws Exception;
}
