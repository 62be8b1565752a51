package io.sdj.models.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A1111's extra-network prompt syntax for LoRAs: {@code <lora:name>} or {@code <lora:name:0.8>} anywhere in the
 * prompt. The tags choose LoRAs and are removed before the prompt is tokenised.
 */
public final class LoraTags {
    private LoraTags() {}

    private static final Pattern TAG = Pattern.compile("<lora:([^:>]+)(?::([^:>]*))?(?::[^>]*)?>");

    /** One tag: the LoRA's name and multiplier (1 when the tag gives none). */
    public record Tag(String name, float multiplier) {}

    /** The LoRA tags of a prompt, in order; throws naming the tag when its multiplier is not a number. */
    public static List<Tag> parse(String prompt) {
        List<Tag> out = new ArrayList<>();
        Matcher m = TAG.matcher(prompt);
        while (m.find()) {
            String name = m.group(1).trim();
            float mult = 1f;
            if (m.group(2) != null && !m.group(2).isBlank()) {
                try {
                    mult = Float.parseFloat(m.group(2).trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("prompt tag " + m.group() + ": multiplier '" + m.group(2) + "' is not a number");
                }
                if (!Float.isFinite(mult)) throw new IllegalArgumentException("prompt tag " + m.group() + ": multiplier must be finite");
            }
            out.add(new Tag(name, mult));
        }
        return out;
    }

    /** The prompt without its LoRA tags (what is tokenised). */
    public static String strip(String prompt) {
        return TAG.matcher(prompt).replaceAll("");
    }
}
