package io.sdj.core;

/**
 * User data quoted in an error message, capped so that a hostile or broken file cannot make a huge error line
 * (a 1 MB tensor name, a megabyte-long config value).
 */
public final class Quote {
    private Quote() {}

    /** Longest quoted text kept whole. */
    public static final int MAX_CHARS = 200;

    /** {@code text} in single quotes, cut to {@link #MAX_CHARS} with its full length said when longer. */
    public static String of(String text) {
        return "'" + capped(text) + "'";
    }

    /** {@code text} cut to {@link #MAX_CHARS}, with "… (N characters)" appended when it was longer. */
    public static String capped(String text) {
        if (text == null) return "null";
        if (text.length() <= MAX_CHARS) return text;
        return text.substring(0, MAX_CHARS) + "… (" + text.length() + " characters)";
    }

    /** Any value's string form, capped the same way (JSON nodes, arrays printed with their toString). */
    public static String capped(Object value) {
        return capped(String.valueOf(value));
    }
}
