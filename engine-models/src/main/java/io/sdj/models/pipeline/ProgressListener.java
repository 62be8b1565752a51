package io.sdj.models.pipeline;

import java.time.Duration;

/** Told after every denoising step; called on the generating thread, so it must be quick. */
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
}
