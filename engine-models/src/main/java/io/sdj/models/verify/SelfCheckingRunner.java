package io.sdj.models.verify;

import java.util.List;

/**
 * Runs a kind of reference case that has no {@code outputs.safetensors} to compare with (checkpoint readers: the
 * case names its own expected files, or only asks for refusals) and returns its verdicts itself.
 */
@FunctionalInterface
public interface SelfCheckingRunner {
    List<OutputCheck> check(GoldenCase c) throws Exception;
}
