package io.sdj.models.pipeline;

import java.time.Duration;
import java.util.Arrays;

/** Where a generation spent its time: text encoder, each denoising step (UNet + sampler), decoder. */
public record Timings(long textEncoderNanos, long[] stepNanos, long decoderNanos) {
    public Timings {
        stepNanos = stepNanos.clone();
    }

    @Override
    public long[] stepNanos() { return stepNanos.clone(); }

    public long totalStepNanos() { return Arrays.stream(stepNanos).sum(); }

    public Duration total() { return Duration.ofNanos(textEncoderNanos + totalStepNanos() + decoderNanos); }

    /** Median seconds per step (0 when there were none). */
    public double medianSecondsPerStep() {
        if (stepNanos.length == 0) return 0;
        long[] s = stepNanos.clone();
        Arrays.sort(s);
        double m = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
        return m / 1e9;
    }

    @Override
    public String toString() {
        return String.format("text encoder %.3f s, %d steps %.3f s (median %.3f s/step), decoder %.3f s",
                textEncoderNanos / 1e9, stepNanos.length, totalStepNanos() / 1e9, medianSecondsPerStep(), decoderNanos / 1e9);
    }
}
