package io.sdj.weights.hub;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** The per-file progress line: bytes of total, percentage, rate and time left; a resumed file says where it resumes. */
class ConsoleProgressTest {
    @Test
    void showsBytesRateAndTimeLeftOnOneRewrittenLine() throws InterruptedException {
        StringWriter w = new StringWriter();
        ConsoleProgress p = new ConsoleProgress(new PrintWriter(w));
        long total = 8L << 20;
        p.started("unet/x.safetensors", total, 1L << 20);
        Thread.sleep(250);
        p.advanced("unet/x.safetensors", 3L << 20, total);
        p.finished("unet/x.safetensors", total, false);
        String out = w.toString();
        assertThat(out).startsWith("unet/x.safetensors: resuming at 1.0 MiB of 8.0 MiB");
        String[] updates = out.split("\r");
        assertThat(updates[2]).startsWith("unet/x.safetensors  3.0 MiB / 8.0 MiB   37%  ").contains("/s  ETA ");
        assertThat(updates[3]).startsWith("unet/x.safetensors  8.0 MiB / 8.0 MiB  100%  ").contains(" in ").endsWith("\n");
        StringWriter c = new StringWriter();
        new ConsoleProgress(new PrintWriter(c)).finished("vae/config.json", 596, true);
        assertThat(c.toString()).isEqualTo("vae/config.json: in the cache (596 B)" + System.lineSeparator());
    }

    @Test
    void formatsDurations() {
        assertThat(ConsoleProgress.duration(42.4)).isEqualTo("42 s");
        assertThat(ConsoleProgress.duration(125)).isEqualTo("2 min 05 s");
        assertThat(ConsoleProgress.duration(7322)).isEqualTo("2 h 02 min");
    }
}
