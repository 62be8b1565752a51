package io.sdj.models.clip;

/**
 * One fragment of a parsed prompt and its attention weight (a double, as A1111 multiplies it). The fragment
 * {@code "BREAK"} with weight exactly −1 is a chunk break, not text.
 */
public record WeightedText(String text, double weight) {

    /** A1111's marker for {@code BREAK}: ends the current 75-token chunk. */
    public static final WeightedText BREAK = new WeightedText("BREAK", -1.0);

    public boolean isBreak() { return weight == -1.0 && text.equals("BREAK"); }
}
