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
    void callerOnlyRunsEveryChunkOnTheCallingThreadAndLeavesTheWorkersFree() throws Exception {
        int before = Parallel.threads();
        try {
            Parallel.setThreads(2);
            Thread caller = Thread.currentThread();
            AtomicIntegerArray hits = new AtomicIntegerArray(1000);
            java.util.Set<Thread> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
            Parallel.callerOnly(() -> Parallel.forEach(1000, i -> {
                seen.add(Thread.currentThread());
                hits.incrementAndGet(i);
            }));
            assertThat(seen).containsExactly(caller);
            for (int i = 0; i < 1000; i++) assertThat(hits.get(i)).isEqualTo(1);
            // outside callerOnly the workers take part again
            java.util.Set<Thread> after = java.util.concurrent.ConcurrentHashMap.newKeySet();
            Parallel.forEach(1000, i -> {
                after.add(Thread.currentThread());
                try { if (i % 100 == 0) Thread.sleep(1); } catch (InterruptedException e) { throw new RuntimeException(e); }
            });
            assertThat(after).hasSize(2);
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
    void aFailureOnTheCallersChunkStillWaitsForTheOthers() {
        int before = Parallel.threads();
        try {
            Parallel.setThreads(2);
            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            assertThatThrownBy(() -> Parallel.forEach(100, i -> {
                if (i == 3) throw new IllegalStateException("boom at 3");
                if (i >= 50) {
                    try { Thread.sleep(1); } catch (InterruptedException e) { throw new RuntimeException(e); }
                }
                hits.incrementAndGet(i);
            })).hasMessageContaining("boom at 3");
            for (int i = 50; i < 100; i++) assertThat(hits.get(i)).as("i=%d finished before forEach returned", i).isEqualTo(1);
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void nestedAndConcurrentCallsRunEveryIndexOnce() throws Exception {
        int before = Parallel.threads();
        try {
            Parallel.setThreads(2);
            AtomicIntegerArray hits = new AtomicIntegerArray(40 * 30);
            Parallel.forEach(40, i -> Parallel.forEach(30, j -> hits.incrementAndGet(i * 30 + j)));
            for (int i = 0; i < 40 * 30; i++) assertThat(hits.get(i)).as("nested %d", i).isEqualTo(1);

            AtomicIntegerArray a = new AtomicIntegerArray(5000), b = new AtomicIntegerArray(5000);
            Thread other = new Thread(() -> {
                for (int r = 0; r < 200; r++) {
                    int rr = r;
                    Parallel.forEach(25, i -> b.incrementAndGet(rr * 25 + i));
                }
            });
            other.start();
            for (int r = 0; r < 200; r++) {
                int rr = r;
                Parallel.forEach(25, i -> a.incrementAndGet(rr * 25 + i));
            }
            other.join();
            for (int i = 0; i < 5000; i++) {
                assertThat(a.get(i)).as("caller 1, %d", i).isEqualTo(1);
                assertThat(b.get(i)).as("caller 2, %d", i).isEqualTo(1);
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void refusesZeroThreads() {
        assertThatThrownBy(() -> Parallel.setThreads(0)).hasMessageContaining("≥ 1");
    }
}
