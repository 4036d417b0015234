package dev.gradclip.cli;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The options of a sharded clip across processes, {@code --rank R --world-size W --rendezvous tcp://HOST:PORT
 * [--timeout-s S]}: this process is rank R of W, the ranks meet at HOST:PORT (rank 0 listens there), and
 * a rank that has not arrived after S seconds (default 120) fails every other one.
 *
 * @param rank this process's rank, in {@code [0, worldSize)}
 * @param worldSize the number of ranks, at least 1
 * @param rendezvous {@code tcp://HOST:PORT}
 * @param timeout how long to wait for the other ranks, at the rendezvous and at every exchange
 */
record ShardOptions(int rank, int worldSize, URI rendezvous, Duration timeout) {
    /** The option names, in the order the usage lists them. */
    static final List<String> NAMES = List.of("--rank", "--world-size", "--rendezvous", "--timeout-s");
    static final double DEFAULT_TIMEOUT_S = 120;
    static final double MAX_TIMEOUT_S = 86_400;

    /**
     * The sharded-clip options of a {@code clip} command line, validated, or null when none is given.
     *
     * @param op the {@code --op} value (already validated)
     * @throws Main.UsageException if some are given but not all of --rank, --world-size, --rendezvous, the
     *     op is not global-norm or norms, or a value is out of range
     */
    static @Nullable ShardOptions parse(Map<String, String> o, String op) throws Main.UsageException {
        boolean any = false;
        for (String n : NAMES) any |= o.containsKey(n);
        if (!any) return null;
        if (!op.equals("global-norm") && !op.equals("norms")) {
            throw new Main.UsageException("--rank/--world-size/--rendezvous/--timeout-s (a clip sharded across processes) apply to "
                    + "--op global-norm and --op norms only, not to --op " + op);
        }
        for (String n : List.of("--rank", "--world-size", "--rendezvous")) {
            if (!o.containsKey(n)) {
                throw new Main.UsageException("a clip sharded across processes needs --rank, --world-size and --rendezvous; missing " + n);
            }
        }
        int world = integer("--world-size", o.get("--world-size"));
        if (world < 1) throw new Main.UsageException("--world-size must be at least 1, got " + world);
        int rank = integer("--rank", o.get("--rank"));
        if (rank < 0 || rank >= world) {
            throw new Main.UsageException("--rank " + rank + " is outside [0, " + world + ") for --world-size " + world);
        }
        URI rendezvous = rendezvous(o.get("--rendezvous"));
        double seconds = DEFAULT_TIMEOUT_S;
        if (o.containsKey("--timeout-s")) {
            seconds = Main.number("--timeout-s", o.get("--timeout-s"));
            if (!(seconds >= 0.001 && seconds <= MAX_TIMEOUT_S)) {
                throw new Main.UsageException("--timeout-s must be a number of seconds in [0.001, " + (long) MAX_TIMEOUT_S
                        + "], got '" + o.get("--timeout-s") + "'");
            }
        }
        return new ShardOptions(rank, world, rendezvous, Duration.ofMillis(Math.round(seconds * 1000)));
    }

    private static int integer(String option, String text) throws Main.UsageException {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new Main.UsageException(option + " needs an integer, got '" + text + "'");
        }
    }

    /** {@code tcp://HOST:PORT} with a port in [1, 65535] and nothing else (no user, path, query or fragment). */
    private static URI rendezvous(String text) throws Main.UsageException {
        String expected = "--rendezvous must be tcp://HOST:PORT (e.g. tcp://127.0.0.1:29500), got '" + text + "'";
        URI uri;
        try {
            uri = new URI(text.trim());
        } catch (URISyntaxException e) {
            throw new Main.UsageException(expected);
        }
        String scheme = uri.getScheme();
        String path = uri.getRawPath();
        if (scheme == null || !scheme.toLowerCase(Locale.ROOT).equals("tcp") || uri.getHost() == null || uri.getRawUserInfo() != null
                || (path != null && !path.isEmpty()) || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new Main.UsageException(expected);
        }
        if (uri.getPort() < 1 || uri.getPort() > 65_535) {
            throw new Main.UsageException("--rendezvous needs a port in [1, 65535]: tcp://HOST:PORT, got '" + text + "'");
        }
        try {
            return new URI("tcp", null, uri.getHost(), uri.getPort(), null, null, null);
        } catch (URISyntaxException e) {
            throw new Main.UsageException(expected);
        }
    }

    /** How the report and the messages name this rank: {@code rank R of W}. */
    String who() {
        return "rank " + rank + " of " + worldSize;
    }
}
