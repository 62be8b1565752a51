package io.sdj.core;

/**
 * The engine's {@code -Dsdj.*} settings that must be parsed strictly: a bad value is an error that names the property
 * and the value, never a silent fallback to the default.
 */
public final class Settings {
    private Settings() {}

    /**
     * {@code value}, the text of {@code -D<name>}, as a whole number ≥ 1, or {@code fallback} when it is unset or blank;
     * anything else throws {@code IllegalArgumentException("-D<name> must be a <what> ≥ 1, got '<value>'")}.
     */
    public static int atLeastOne(String name, String value, String what, int fallback) {
        if (value == null || value.isBlank()) return fallback;
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 1) return n;
        } catch (NumberFormatException e) {
            // named below
        }
        throw new IllegalArgumentException("-D" + name + " must be a " + what + " ≥ 1, got '" + value + "'");
    }
}
