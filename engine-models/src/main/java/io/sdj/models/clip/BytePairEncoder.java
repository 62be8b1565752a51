package io.sdj.models.clip;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE as CLIP uses it: a pre-token's UTF-8 bytes are mapped to printable characters (GPT-2's byte table),
 * the last symbol carries the end-of-word marker {@code </w>}, and the lowest-ranked adjacent pair is merged until no
 * ranked pair remains.
 */
final class BytePairEncoder {
    static final String END_OF_WORD = "</w>";
    private static final String[] BYTE_CHARS = byteTable();

    private final Map<String, Integer> ranks;
    private final Map<String, List<String>> cache = new ConcurrentHashMap<>();

    BytePairEncoder(Map<String, Integer> ranks) {
        this.ranks = ranks;
    }

    /** Parses merges.txt: a version header line, then one "left right" pair per line, rank = line order. */
    static BytePairEncoder fromMerges(String mergesTxt, int maxMerges) {
        String[] lines = mergesTxt.strip().split("\n");
        Map<String, Integer> ranks = new HashMap<>();
        int limit = Math.min(lines.length, maxMerges + 1);
        for (int i = 1; i < limit; i++) {
            String[] pair = lines[i].strip().split("\\s+");
            if (pair.length != 2) {
                throw new IllegalArgumentException("merges.txt line " + (i + 1) + ": expected two symbols, got '" + lines[i] + "'");
            }
            ranks.putIfAbsent(pair[0] + " " + pair[1], i - 1);
        }
        return new BytePairEncoder(ranks);
    }

    int size() { return ranks.size(); }

    /** The printable stand-ins of a string's UTF-8 bytes. */
    static String byteEncode(String piece) {
        byte[] bytes = piece.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) sb.append(BYTE_CHARS[b & 0xFF]);
        return sb.toString();
    }

    /** The BPE symbols of one byte-encoded pre-token (the last ends with {@code </w>}). */
    List<String> encode(String token) {
        List<String> hit = cache.get(token);
        if (hit != null) return hit;
        List<String> word = new ArrayList<>();
        int[] cps = token.codePoints().toArray();
        for (int i = 0; i < cps.length; i++) {
            String s = new String(cps, i, 1);
            word.add(i == cps.length - 1 ? s + END_OF_WORD : s);
        }
        while (word.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null, second = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer r = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (r != null && r < best) { best = r; first = word.get(i); second = word.get(i + 1); }
            }
            if (first == null) break;
            List<String> merged = new ArrayList<>(word.size());
            for (int i = 0; i < word.size(); ) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(word.get(i));
                    i++;
                }
            }
            word = merged;
        }
        List<String> result = List.copyOf(word);
        if (cache.size() < 100_000) cache.put(token, result);
        return result;
    }

    private static String[] byteTable() {
        String[] table = new String[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) direct[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) direct[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) direct[b] = true;
        int next = 0;
        for (int b = 0; b < 256; b++) {
            table[b] = Character.toString(direct[b] ? b : 256 + next++);
        }
        return table;
    }
}
