package io.sdj.core;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnceForAnyThreadCount() {
        int before = Parallel.threads();
        try {
            for (int t : new int[]{1, 2, 3, 8}) {
                Parallel.setThreads(t);
                for (int n : new int[]{0, 1, 2, 5, 1000}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
                    Parallel.forEach(n, i -> hits.incrementAndGet(i));
                    for (int i = 0; i < n; i++) assertThat(hits.get(i)).as("t=%d n=%d i=%d", t, n, i).isEqualTo(1);
                }
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void failuresPropagate() {
        assertThatThrownBy(() -> Parallel.forEach(100, i -> {
            if (i == 77) throw new IllegalStateException("boom at 77");
        })).hasMessageContaining("boom at 77");
    }

    @Test
    void refusesZeroThreads() {
        assertThatThrownBy(() -> Parallel.setThreads(0)).hasMessageContaining("≥ 1");
    }
}
