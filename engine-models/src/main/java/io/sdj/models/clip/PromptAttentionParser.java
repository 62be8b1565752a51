package io.sdj.models.clip;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's prompt attention syntax ({@code prompt_parser.parse_prompt_attention}): {@code (text)} multiplies the
 * weight by 1.1, {@code [text]} divides it by 1.1, {@code (text:1.3)} sets a factor, {@code \(} {@code \)} {@code \[}
 * {@code \]} {@code \\} are literal brackets and backslash, and {@code BREAK} (a whole word, in capitals) ends the
 * current 75-token chunk. Unclosed brackets act as if closed at the end; neighbours with exactly equal weights merge.
 * All weight arithmetic is in double in A1111's order, so the weights come out bit for bit as A1111's.
 * <p>Not handled here (A1111 resolves them before this step): {@code AND}, prompt editing {@code [a:b:N]},
 * alternation {@code [a|b]}, textual-inversion embeddings.
 */
public final class PromptAttentionParser {
    /** Alternatives in this order tile any prompt; group 1 is the weight of {@code :w)}. */
    private static final Pattern ATTENTION = Pattern.compile(
            "\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\[|:\\s*([+-]?[.\\d]+)\\s*\\)|\\)|]|[^\\\\()\\[\\]:]+|:",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern BREAK = Pattern.compile("\\s*\\bBREAK\\b\\s*", Pattern.UNICODE_CHARACTER_CLASS | Pattern.DOTALL);
    private static final double ROUND = 1.1, SQUARE = 1 / 1.1;

    private PromptAttentionParser() { }

    /** The prompt's fragments with their weights (never empty: the empty prompt is one empty fragment of weight 1). */
    public static List<WeightedText> parse(String prompt) {
        List<String> texts = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        Deque<Integer> round = new ArrayDeque<>(), square = new ArrayDeque<>();
        Matcher m = ATTENTION.matcher(prompt);
        while (m.find()) {
            String t = m.group();
            String w = m.group(1);
            if (t.startsWith("\\")) {
                texts.add(t.substring(1));
                weights.add(1.0);
            } else if (t.equals("(")) {
                round.push(texts.size());
            } else if (t.equals("[")) {
                square.push(texts.size());
            } else if (w != null && !round.isEmpty()) {
                multiply(weights, round.pop(), weight(w, prompt));
            } else if (t.equals(")") && !round.isEmpty()) {
                multiply(weights, round.pop(), ROUND);
            } else if (t.equals("]") && !square.isEmpty()) {
                multiply(weights, square.pop(), SQUARE);
            } else {
                String[] parts = BREAK.split(t, -1);
                for (int i = 0; i < parts.length; i++) {
                    if (i > 0) {
                        texts.add(WeightedText.BREAK.text());
                        weights.add(WeightedText.BREAK.weight());
                    }
                    texts.add(parts[i]);
                    weights.add(1.0);
                }
            }
        }
        // unclosed brackets: bottom of each stack first
        for (java.util.Iterator<Integer> it = round.descendingIterator(); it.hasNext(); ) multiply(weights, it.next(), ROUND);
        for (java.util.Iterator<Integer> it = square.descendingIterator(); it.hasNext(); ) multiply(weights, it.next(), SQUARE);
        if (texts.isEmpty()) {
            texts.add("");
            weights.add(1.0);
        }
        int i = 0;
        while (i + 1 < texts.size()) {
            if (weights.get(i).doubleValue() == weights.get(i + 1).doubleValue()) {
                texts.set(i, texts.get(i) + texts.get(i + 1));
                texts.remove(i + 1);
                weights.remove(i + 1);
            } else {
                i++;
            }
        }
        List<WeightedText> out = new ArrayList<>(texts.size());
        for (int k = 0; k < texts.size(); k++) out.add(new WeightedText(texts.get(k), weights.get(k)));
        return out;
    }

    private static void multiply(List<Double> weights, int from, double factor) {
        for (int p = from; p < weights.size(); p++) weights.set(p, weights.get(p) * factor);
    }

    /** Python's {@code float(w)} for the digits-and-dots the pattern admits (any Unicode decimal digit). */
    private static double weight(String w, String prompt) {
        StringBuilder ascii = new StringBuilder(w.length());
        w.codePoints().forEach(cp -> ascii.append(Character.isDigit(cp) ? (char) ('0' + Character.digit(cp, 10)) : (char) cp));
        try {
            return Double.parseDouble(ascii.toString());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("prompt: weight '" + w + "' is not a number (in \"" + prompt + "\")");
        }
    }
}
