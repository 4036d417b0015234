package dev.gradclip.cli;

import dev.gradclip.distributed.ExchangeException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The first exchange of a sharded {@code clip}: every rank all-gathers its clip settings and the names of
 * its archive's arrays, so that every rank knows, from the same gathered words, where its arrays sit in the
 * global set (the ranks' archives concatenated in rank order) and every rank refuses the same mistakes
 * (ranks started with different options, an array name in two archives) with the same message.
 *
 * <pre>
 * words: MAGIC, string(settings), arrayCount, string(name_0) … string(name_{arrayCount-1})
 * string: byteCount, then the UTF-8 bytes packed big-endian 8 to a word (the last word zero-padded)
 * </pre>
 */
final class RankManifest {
    private static final long MAGIC = 0x6763_636c_6970_3031L; // "gcclip01"

    /** Where this rank's arrays sit in the global set: global indices {@code [offset, offset + count)} of {@code globalCount}. */
    record Layout(int offset, int globalCount) {
    }

    private record Decoded(String settings, List<String> names) {
    }

    private RankManifest() {
    }

    /** This rank's words: its settings (every rank's must be equal) and its array names, in archive order. */
    static long[] encode(String settings, List<String> names) {
        List<Long> words = new ArrayList<>();
        words.add(MAGIC);
        putString(words, settings);
        words.add((long) names.size());
        for (String n : names) putString(words, n);
        long[] out = new long[words.size()];
        for (int i = 0; i < out.length; i++) out[i] = words.get(i);
        return out;
    }

    /**
     * The layout of rank {@code rank}'s arrays from every rank's words (indexed by rank): offset = the
     * number of arrays of the ranks before it. A pure function of the gathered words, so every rank reaches
     * the same layout or throws the same message.
     *
     * @throws ExchangeException if a rank's words are not a manifest, the ranks' settings differ, an array
     *     name is in more than one archive, or the global set has more than 2^31 - 1 arrays
     */
    static Layout layout(long[][] gathered, int rank) {
        Decoded[] ranks = new Decoded[gathered.length];
        for (int r = 0; r < gathered.length; r++) ranks[r] = decode(gathered[r], r);
        for (int r = 1; r < ranks.length; r++) {
            if (!ranks[r].settings().equals(ranks[0].settings())) {
                throw new ExchangeException("the ranks were started with different clip options: rank 0 has '" + ranks[0].settings()
                        + "', rank " + r + " has '" + ranks[r].settings() + "' (every rank must pass the same --op, --max-norm, "
                        + "--norm-type, --semantics and --nonfinite)");
            }
        }
        Map<String, Integer> owner = new HashMap<>();
        long total = 0;
        long offset = 0;
        for (int r = 0; r < ranks.length; r++) {
            if (r == rank) offset = total;
            for (String name : ranks[r].names()) {
                Integer first = owner.putIfAbsent(name, r);
                if (first != null) {
                    throw new ExchangeException("the array name " + Json.quote(name) + " is in the archive of rank " + first
                            + (first == r ? " twice" : " and in the archive of rank " + r) + ": the global set is the ranks' archives "
                            + "concatenated in rank order, so array names must be distinct across ranks");
                }
            }
            total += ranks[r].names().size();
        }
        if (total > Integer.MAX_VALUE) throw new ExchangeException("the ranks' archives hold " + total + " arrays together, more than 2^31 - 1");
        return new Layout((int) offset, (int) total);
    }

    private static void putString(List<Long> words, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        words.add((long) b.length);
        for (int i = 0; i < b.length; i += 8) {
            long w = 0;
            for (int k = 0; k < 8; k++) w = (w << 8) | (i + k < b.length ? b[i + k] & 0xFFL : 0);
            words.add(w);
        }
    }

    private static Decoded decode(long[] w, int rank) {
        int[] at = {0};
        if (w.length == 0 || w[at[0]++] != MAGIC) {
            throw new ExchangeException("rank " + rank + " did not send a gradclip clip manifest (a different gradclip version?)");
        }
        String settings = getString(w, at, rank);
        long count = word(w, at, rank);
        if (count < 0 || count > w.length) throw new ExchangeException("rank " + rank + " sent a malformed manifest");
        List<String> names = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) names.add(getString(w, at, rank));
        if (at[0] != w.length) throw new ExchangeException("rank " + rank + " sent a malformed manifest");
        return new Decoded(settings, names);
    }

    private static long word(long[] w, int[] at, int rank) {
        if (at[0] >= w.length) throw new ExchangeException("rank " + rank + " sent a truncated manifest");
        return w[at[0]++];
    }

    private static String getString(long[] w, int[] at, int rank) {
        long n = word(w, at, rank);
        if (n < 0 || (n + 7) / 8 > w.length - at[0]) throw new ExchangeException("rank " + rank + " sent a malformed manifest");
        byte[] b = new byte[(int) n];
        for (int i = 0; i < b.length; i += 8) {
            long v = w[at[0]++];
            for (int k = 0; k < 8; k++) {
                if (i + k < b.length) b[i + k] = (byte) (v >>> (56 - 8 * k));
            }
        }
        return new String(b, StandardCharsets.UTF_8);
    }
}
