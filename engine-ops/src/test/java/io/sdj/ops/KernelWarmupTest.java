package io.sdj.ops;

import io.sdj.core.DType;
import io.sdj.core.Parallel;
import io.sdj.core.Tensor;
import io.sdj.core.Workspace;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class KernelWarmupTest {
    @Test
    void aRoundRunsEveryKernelFamilyWithoutError() {
        // the warm-up thread swallows failures (it is only an optimisation), so the round is run here directly
        KernelWarmup.Kernels k = new KernelWarmup.Kernels(new SplittableRandom(3));
        assertThat(k.round(() -> false)).isTrue();
        assertThat(k.round(() -> true)).as("a stop request ends the round before its next kernel").isFalse();
    }

    @Test
    void offUnlessAskedFor() {
        String before = System.getProperty("sdj.warmup");
        System.clearProperty("sdj.warmup");
        try {
            assertThat(KernelWarmup.enabled()).as("the library default").isFalse();
            assertThat(KernelWarmup.start().stop()).isZero();
        } finally {
            if (before != null) System.setProperty("sdj.warmup", before);
        }
    }

    @Test
    void aRunningWarmUpChangesNoResultAndStops() {
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(2);
            SplittableRandom r = new SplittableRandom(5);
            Linear linear = new Linear(GemmChecks.weight(r, "w", DType.F32, 301, 77), GemmChecks.weight(r, "b", DType.F32, 301));
            Tensor x = Tensor.of(GemmChecks.random(r, 2 * 97 * 77), 2, 97, 77);
            float[] quiet = linear.forward(new Workspace(), x).toArray();
            String before = System.getProperty("sdj.warmup");
            System.setProperty("sdj.warmup", "true");
            KernelWarmup w = KernelWarmup.start();
            if (before == null) System.clearProperty("sdj.warmup"); else System.setProperty("sdj.warmup", before);
            try {
                for (int i = 0; i < 20; i++) {
                    assertThat(linear.forward(new Workspace(), x).toArray()).as("run %d beside the warm-up", i).isEqualTo(quiet);
                }
            } finally {
                assertThat(w.stop()).isGreaterThanOrEqualTo(0);
            }
            assertThat(linear.forward(new Workspace(), x).toArray()).isEqualTo(quiet);
        } finally {
            Parallel.setThreads(saved);
        }
    }
}
