package io.sdj.models.pipeline;

import io.sdj.core.Tensor;
import io.sdj.models.Trace;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CancellableTraceTest {
    @Test
    void blockCheckpointsCheckForCancellationButKeepNoActivationsSoModelsMayRunTheirFusedPaths() {
        Cancellation c = new Cancellation();
        List<String> seen = new ArrayList<>();
        Trace recording = (name, t) -> seen.add(name);
        Trace checkpoints = CancellableTrace.blockCheckpoints(new CancellableTrace(recording, c, "decoding"));
        assertThat(recording.keepsActivations()).isTrue();
        assertThat(recording.at("up_blocks.0").keepsActivations()).isTrue();
        assertThat(Trace.NONE.keepsActivations()).isFalse();
        assertThat(checkpoints.keepsActivations()).as("a cancellation checkpoint looks at no tensor").isFalse();
        assertThat(checkpoints.at("layer").keepsActivations()).isFalse();
        checkpoints.record("layer.1", Tensor.zeros(1));
        assertThat(seen).as("checkpoints record nothing").isEmpty();
        c.cancel();
        assertThatThrownBy(() -> checkpoints.record("layer.2", Tensor.zeros(1))).hasMessageContaining("layer.2");
    }
}
