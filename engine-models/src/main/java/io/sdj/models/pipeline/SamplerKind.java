package io.sdj.models.pipeline;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The samplers a generation can use, with their command-line names and A1111 display names. */
public enum SamplerKind {
    DDIM("ddim", "DDIM"),
    PNDM("pndm", "PLMS"),
    EULER("euler", "Euler"),
    EULER_A("euler-a", "Euler a"),
    DPMPP_2M("dpmpp-2m", "DPM++ 2M"),
    LCM("lcm", "LCM"),
    ONESTEP("onestep", "One step");

    private final String cliName, displayName;

    SamplerKind(String cliName, String displayName) {
        this.cliName = cliName;
        this.displayName = displayName;
    }

    public String cliName() { return cliName; }

    /** The name A1111-style metadata uses. */
    public String displayName() { return displayName; }

    public static SamplerKind parse(String s) {
        String k = s.toLowerCase(Locale.ROOT).replace('_', '-');
        for (SamplerKind v : values()) if (v.cliName.equals(k)) return v;
        throw new IllegalArgumentException("unknown sampler '" + s + "' (expected one of " + names() + ")");
    }

    public static String names() {
        return Arrays.stream(values()).map(SamplerKind::cliName).collect(Collectors.joining(", "));
    }
}
