package io.sdj.core;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WorkspaceTest {
    @Test
    void steadyStateReusesBuffers() {
        Workspace ws = new Workspace();
        for (int step = 0; step < 5; step++) {
            Tensor a = ws.take(2, 3, 4);
            Tensor b = ws.take(7);
            ws.release(a, b);
        }
        assertThat(ws.allocations()).isEqualTo(2);
        assertThat(ws.takes()).isEqualTo(10);
    }

    @Test
    void zerosAreZeroEvenOnReuse() {
        Workspace ws = new Workspace();
        Tensor a = ws.take(5);
        java.util.Arrays.fill(a.data(), 3f);
        ws.release(a);
        Tensor z = ws.zeros(5);
        assertThat(z.data()).containsOnly(0f);
    }

    @Test
    void shapeErrorsNameOpAndShapes() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(3, 2);
        assertThatThrownBy(() -> Tensor.requireSameShape("add", a, b)).hasMessageContaining("add").hasMessageContaining("[2, 3]").hasMessageContaining("[3, 2]");
        assertThatThrownBy(() -> a.reshape(7)).hasMessageContaining("[2, 3]");
    }
}
