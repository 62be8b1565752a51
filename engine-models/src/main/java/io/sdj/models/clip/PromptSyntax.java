package io.sdj.models.clip;

import java.util.Locale;

/**
 * How prompt text is read. {@link #A1111}: AUTOMATIC1111's attention syntax ({@link PromptAttentionParser}: weights,
 * escapes, {@code BREAK}); {@link #PLAIN}: the text is taken literally (A1111's emphasis "None"). Either way prompts
 * longer than 75 tokens are split into 75-token chunks ({@link PromptChunker}) instead of being truncated.
 */
public enum PromptSyntax {
    A1111("a1111"),
    PLAIN("plain");

    private final String cliName;

    PromptSyntax(String cliName) { this.cliName = cliName; }

    public String cliName() { return cliName; }

    public static PromptSyntax parse(String s) {
        String k = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        return switch (k) {
            case "a1111", "auto1111", "automatic1111" -> A1111;
            case "plain", "none" -> PLAIN;
            default -> throw new IllegalArgumentException("unknown prompt syntax '" + s + "' (use a1111 or plain)");
        };
    }
}
