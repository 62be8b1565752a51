package io.sdj.core;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SettingsTest {
    @Test
    void aWholeNumberAtLeastOneOrTheFallback() {
        assertThat(Settings.atLeastOne("sdj.threads", null, "whole number", 3)).isEqualTo(3);
        assertThat(Settings.atLeastOne("sdj.threads", "  ", "whole number", 3)).isEqualTo(3);
        assertThat(Settings.atLeastOne("sdj.threads", " 2 ", "whole number", 3)).isEqualTo(2);
        assertThatThrownBy(() -> Settings.atLeastOne("sdj.threads", "0", "whole number", 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("-Dsdj.threads must be a whole number ≥ 1, got '0'");
        assertThatThrownBy(() -> Settings.atLeastOne("sdj.threads", "two", "whole number", 3))
                .hasMessage("-Dsdj.threads must be a whole number ≥ 1, got 'two'");
        assertThatThrownBy(() -> Settings.atLeastOne("sdj.threads", "1.5", "whole number", 3))
                .hasMessage("-Dsdj.threads must be a whole number ≥ 1, got '1.5'");
    }
}
