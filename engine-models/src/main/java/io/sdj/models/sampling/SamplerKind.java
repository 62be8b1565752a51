package io.sdj.models.sampling;

import java.util.Locale;

/**
 * The samplers this engine implements, with the diffusers scheduler class each one reproduces and the defaults that
 * class applies to keys missing from a config ({@code from_config} semantics: present keys carry over, absent keys
 * take the target class's defaults).
 */
public enum SamplerKind {
    DDIM("ddim", "DDIMScheduler", TimestepSpacing.LEADING, true, true),
    PNDM("pndm", "PNDMScheduler", TimestepSpacing.LEADING, false, false),
    EULER("euler", "EulerDiscreteScheduler", TimestepSpacing.LINSPACE, false, false),
    EULER_ANCESTRAL("euler-ancestral", "EulerAncestralDiscreteScheduler", TimestepSpacing.LINSPACE, false, false),
    DPMPP_2M("dpmpp-2m", "DPMSolverMultistepScheduler", TimestepSpacing.LINSPACE, false, false),
    LCM("lcm", "LCMScheduler", TimestepSpacing.LEADING, false, true),
    ONE_STEP("one-step", "(one evaluation at the last timestep)", TimestepSpacing.TRAILING, false, false);

    private final String cliName;
    private final String diffusersClass;
    private final TimestepSpacing defaultSpacing;
    private final boolean defaultClipSample;
    private final boolean defaultSetAlphaToOne;

    SamplerKind(String cliName, String diffusersClass, TimestepSpacing defaultSpacing, boolean defaultClipSample,
                boolean defaultSetAlphaToOne) {
        this.cliName = cliName;
        this.diffusersClass = diffusersClass;
        this.defaultSpacing = defaultSpacing;
        this.defaultClipSample = defaultClipSample;
        this.defaultSetAlphaToOne = defaultSetAlphaToOne;
    }

    /** The name used on the command line and in model metadata ("ddim", "euler-ancestral", ...). */
    public String cliName() { return cliName; }

    /** The diffusers class whose arithmetic this sampler reproduces. */
    public String diffusersClass() { return diffusersClass; }

    TimestepSpacing defaultSpacing() { return defaultSpacing; }

    boolean defaultClipSample() { return defaultClipSample; }

    boolean defaultSetAlphaToOne() { return defaultSetAlphaToOne; }

    /**
     * Parses a sampler name: the CLI name, the enum name or the diffusers class name, case-insensitive
     * ("dpm++2m", "dpmpp_2m" and "k_euler_a"-style aliases are accepted too).
     */
    public static SamplerKind parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (SamplerKind k : values()) {
            if (k.cliName.equals(n) || k.name().toLowerCase(Locale.ROOT).replace('_', '-').equals(n)
                    || k.diffusersClass.equalsIgnoreCase(name.trim())) {
                return k;
            }
        }
        return switch (n) {
            case "plms" -> PNDM;
            case "euler-a", "k-euler-a", "eulera" -> EULER_ANCESTRAL;
            case "k-euler" -> EULER;
            case "dpm++2m", "dpm++-2m", "dpmsolver++", "dpm-solver++", "dpmpp2m" -> DPMPP_2M;
            case "onestep", "turbo" -> ONE_STEP;
            default -> throw new IllegalArgumentException("unknown sampler '" + name + "' (expected one of "
                    + java.util.Arrays.stream(values()).map(SamplerKind::cliName).toList() + ")");
        };
    }
}
