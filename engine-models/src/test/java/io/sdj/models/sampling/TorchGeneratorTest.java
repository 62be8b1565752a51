package io.sdj.models.sampling;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Properties of the generator that hold without reference data. */
class TorchGeneratorTest {

    @Test
    void engineIsTheStandardMersenneTwister() {
        // std::mt19937 with the default seed 5489: first output, and the 10000th (C++ standard's check value)
        TorchGenerator g = new TorchGenerator(5489);
        assertThat(Integer.toUnsignedLong(g.nextInt32())).isEqualTo(3499211612L);
        for (int i = 2; i < 10000; i++) g.nextInt32();
        assertThat(Integer.toUnsignedLong(g.nextInt32())).isEqualTo(4123659995L);
    }

    @Test
    void onlyTheLow32BitsOfTheSeedMatter() {
        assertThat(new TorchGenerator((1L << 32) + 7).randn(40)).containsExactly(new TorchGenerator(7).randn(40));
        assertThat(new TorchGenerator(8).randn(40)).isNotEqualTo(new TorchGenerator(7).randn(40));
    }

    @Test
    void smallDrawsUseTheCachedSecondBoxMullerValue() {
        float[] pair = new TorchGenerator(3).randn(2);
        TorchGenerator g = new TorchGenerator(3);
        assertThat(new float[] {g.randn(1)[0], g.randn(1)[0]}).containsExactly(pair);
        // a large draw does not consume the cache: the next small draw still returns it
        TorchGenerator h = new TorchGenerator(3);
        float first = h.randn(1)[0];
        h.randn(16);
        assertThat(first).isEqualTo(pair[0]);
        assertThat(h.randn(1)[0]).isEqualTo(pair[1]);
    }

    @Test
    void normalsHaveUnitMomentsAndTheTailIsRedrawn() {
        float[] z = new TorchGenerator(123).randn(1 << 16);
        double m = 0, v = 0;
        for (float f : z) { m += f; v += f * f; }
        m /= z.length;
        v = v / z.length - m * m;
        assertThat(m).isBetween(-0.02, 0.02);
        assertThat(v).isBetween(0.97, 1.03);
        // sizes not a multiple of 16: the first full blocks agree with a shorter draw's, the tail is redrawn
        float[] a = new TorchGenerator(5).randn(17), b = new TorchGenerator(5).randn(16);
        assertThat(a[0]).isEqualTo(b[0]);
        assertThat(a[16]).isNotEqualTo(b[15]);
    }

    @Test
    void cephesFunctionsAreAccurateToAFewUlp() {
        for (float x = 1e-6f; x <= 1f; x *= 1.37f) {
            assertThat((double) CephesFloat.log(x)).isCloseTo(Math.log(x), org.assertj.core.data.Offset.offset(4 * Math.ulp((float) Math.log(x)) + 1e-7));
        }
        for (float x = 0f; x < 6.3f; x += 0.01f) {
            assertThat((double) CephesFloat.sin(x)).isCloseTo(Math.sin(x), org.assertj.core.data.Offset.offset(3e-7));
            assertThat((double) CephesFloat.cos(x)).isCloseTo(Math.cos(x), org.assertj.core.data.Offset.offset(3e-7));
        }
    }
}
