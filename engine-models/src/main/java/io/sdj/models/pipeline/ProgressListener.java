package io.sdj.models.pipeline;

import java.time.Duration;

/**
 * Told after every denoising step; called on the generating thread, so it must be quick. A listener that wants live
 * previews returns N &gt; 0 from {@link #previewEvery()}: after every N-th step (not the last, whose image is the
 * result) it gets {@link #onPreview} with a cheap rendering of the predicted clean latents (TAESD when the model has
 * one, else {@link LatentPreview#linear}).
 */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = (step, total, elapsed, secondsPerStep) -> { };

    /**
     * @param step            steps done so far (1..total)
     * @param total           number of steps
     * @param elapsed         time since the denoising loop started
     * @param secondsPerStep  mean seconds per step so far
     */
    void onStep(int step, int total, Duration elapsed, double secondsPerStep);

    /** Preview interval in steps; 0 (default) = no previews. */
    default int previewEvery() { return 0; }

    /** A preview of the latents after step {@code step} (first image of a batch). */
    default void onPreview(int step, int total, RgbImage preview) { }
}
