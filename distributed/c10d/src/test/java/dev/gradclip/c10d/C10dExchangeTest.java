package dev.gradclip.c10d;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import java.io.DataInputStream;
import java.io.FileInputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ranks in separate JVMs on loopback, exchanging through c10d Gloo: the global norm and every clipped
 * element have the bits of one process; a missing rank fails the others within the timeout, with
 * nothing written.
 */
class C10dExchangeTest {
    private static final boolean FULL = Boolean.getBoolean("gradclip.c10d.full");

    @BeforeAll
    static void unpackOnce() {
        C10dExchange.loadLibtorch(); // one extraction before the rank JVMs start (they would race on it)
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static List<Process> launch(int port, int world, int[] ranks, long seed, String p, double maxNorm, long timeoutMs, Path dir)
            throws Exception {
        return launch(port, world, ranks, seed, p, maxNorm, timeoutMs, dir, List.of(), 0);
    }

    /** Starts the ranks in the order given, {@code staggerMs} apart, each with {@code extra} appended to its arguments. */
    private static List<Process> launch(int port, int world, int[] ranks, long seed, String p, double maxNorm, long timeoutMs, Path dir,
            List<String> extra, long staggerMs) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> ps = new ArrayList<>();
        for (int r : ranks) {
            List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-cp", cp, RankMain.class.getName(), String.valueOf(port),
                    String.valueOf(r), String.valueOf(world), String.valueOf(seed), p, String.valueOf(maxNorm), String.valueOf(timeoutMs),
                    dir.resolve("rank" + r).toString()));
            cmd.addAll(extra);
            if (staggerMs > 0 && !ps.isEmpty()) Thread.sleep(staggerMs);
            ps.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("rank" + r + ".log").toFile()).start());
        }
        return ps;
    }

    private static int waitFor(Process p, Path log) throws Exception {
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("a rank did not finish; its log:\n" + Files.readString(log));
        }
        return p.exitValue();
    }

    @Test
    void ranksInSeparateJvmsGetTheBitsOfOneProcess() throws Exception {
        int maxWorld = FULL ? 4 : 3;
        String[] ps = {"2", "1", "inf"};
        for (int world = 1; world <= maxWorld; world++) {
            for (int k = 0; k < (FULL ? 3 : 1); k++) {
                String p = ps[(world + k) % ps.length];
                long seed = 100L * world + k;
                Shards single = new Shards(seed, world);
                NormPartials ref;
                ClipReport refReport;
                double maxNorm;
                try (Clipper c = Clipper.create(Backend.CPU)) {
                    ref = c.partials(single.whole(), NormType.parse(p));
                    maxNorm = ref.totalNorm() / 4;
                    refReport = c.clipByGlobalNorm(single.whole(), NormClip.of(maxNorm).withNormType(NormType.parse(p)));
                }
                Path dir = Files.createTempDirectory("c10d");
                int[] ranks = new int[world];
                for (int r = 0; r < world; r++) ranks[r] = r;
                List<Process> procs = launch(freePort(), world, ranks, seed, p, maxNorm, 60_000, dir);
                for (int r = 0; r < world; r++) {
                    Path log = dir.resolve("rank" + r + ".log");
                    assertEquals(0, waitFor(procs.get(r), log), "rank " + r + " of " + world + " failed:\n" + Files.readString(log));
                    try (DataInputStream in = new DataInputStream(new FileInputStream(dir.resolve("rank" + r).toFile()))) {
                        String what = "world " + world + " p " + p + " rank " + r;
                        assertEquals("ok", in.readUTF(), what);
                        assertEquals(Double.doubleToRawLongBits(ref.totalNorm()), in.readLong(), what + ": global norm bits");
                        assertEquals(Double.doubleToRawLongBits(refReport.scale()), in.readLong(), what + ": scale bits");
                        for (Shards.Piece piece : single.ranks.get(r)) {
                            for (int i = piece.offset(); i < piece.offset() + piece.length(); i++) {
                                long got = in.readLong();
                                if (got != single.bits(piece.tensor(), i)) {
                                    throw new AssertionError(what + ": tensor " + piece.tensor() + " element " + i + " expected bits "
                                            + Long.toHexString(single.bits(piece.tensor(), i)) + " got " + Long.toHexString(got));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * A NaN with a payload on one rank, under each non-finite policy, ranks started in reverse order and staggered
     * (the last rank arrives first, rank 0, which hosts the store, last): every rank decides what one process decides
     * on the global norm: PROPAGATE writes the bits of one process, ERROR throws on every rank and SKIP reports a
     * skipped step on every rank, both with every element untouched.
     */
    @Test
    void aNanOnOneRankIsDecidedTogetherUnderEachPolicyWhateverTheArrivalOrder() throws Exception {
        int world = FULL ? 3 : 2;
        for (NonFinitePolicy policy : NonFinitePolicy.values()) {
            long seed = 900L + policy.ordinal();
            Shards single = new Shards(seed, world, true);
            Shards pristine = new Shards(seed, world, true);
            NormClip clip = NormClip.of(1.0).withNonFinite(policy);
            String expectedOutcome;
            long totalBits;
            long scaleBits;
            try (Clipper c = Clipper.create(Backend.CPU)) {
                totalBits = Double.doubleToRawLongBits(c.partials(single.whole(), NormType.L2).totalNorm());
                try {
                    ClipReport r = c.clipByGlobalNorm(single.whole(), clip);
                    expectedOutcome = r.skipped() ? "skipped" : "ok";
                    scaleBits = Double.doubleToRawLongBits(r.scale());
                } catch (NonFiniteGradientException e) {
                    expectedOutcome = "nonfinite";
                    scaleBits = Double.doubleToRawLongBits(Double.NaN);
                    totalBits = scaleBits;
                }
            }
            assertEquals(0x7ff8000000000000L, totalBits, "the reference global norm is the canonical NaN");
            int[] ranks = new int[world];
            for (int r = 0; r < world; r++) ranks[r] = world - 1 - r;
            Path dir = Files.createTempDirectory("c10d-nan");
            List<Process> procs = launch(freePort(), world, ranks, seed, "2", 1.0, 60_000, dir, List.of(policy.name(), "nan"), 700);
            for (int k = 0; k < world; k++) {
                int r = ranks[k];
                Path log = dir.resolve("rank" + r + ".log");
                String what = policy + ", rank " + r + " of " + world;
                assertEquals(expectedOutcome.equals("nonfinite") ? 3 : 0, waitFor(procs.get(k), log), what + ":\n" + Files.readString(log));
                try (DataInputStream in = new DataInputStream(new FileInputStream(dir.resolve("rank" + r).toFile()))) {
                    assertEquals(expectedOutcome, in.readUTF(), what);
                    long total = in.readLong();
                    long scale = in.readLong();
                    if (!expectedOutcome.equals("nonfinite")) {
                        assertEquals(totalBits, total, what + ": global norm bits");
                        assertEquals(scaleBits, scale, what + ": scale bits");
                    }
                    Shards expected = expectedOutcome.equals("ok") ? single : pristine;
                    for (Shards.Piece piece : expected.ranks.get(r)) {
                        for (int i = piece.offset(); i < piece.offset() + piece.length(); i++) {
                            long got = in.readLong();
                            if (got != expected.bits(piece.tensor(), i)) {
                                throw new AssertionError(what + ": tensor " + piece.tensor() + " element " + i + " expected bits "
                                        + Long.toHexString(expected.bits(piece.tensor(), i)) + " got " + Long.toHexString(got));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void aMissingRankFailsTheOthersWithinTheTimeoutAndNothingIsWritten(@TempDir Path dir) throws Exception {
        long seed = 4242;
        Shards original = new Shards(seed, 3);
        long start = System.nanoTime();
        List<Process> procs = launch(freePort(), 3, new int[] {0, 1}, seed, "2", 1e-6, 4_000, dir); // rank 2 never starts
        for (int r = 0; r < 2; r++) {
            Path log = dir.resolve("rank" + r + ".log");
            assertEquals(2, waitFor(procs.get(r), log), "rank " + r + " must fail with exit 2:\n" + Files.readString(log));
            try (DataInputStream in = new DataInputStream(new FileInputStream(dir.resolve("rank" + r).toFile()))) {
                String outcome = in.readUTF();
                assertTrue(outcome.startsWith("exchange failed"), outcome);
                assertTrue(outcome.length() < 400, "a short message, not a C++ stack trace: " + outcome);
                in.readLong();
                in.readLong();
                for (Shards.Piece piece : original.ranks.get(r)) {
                    for (int i = piece.offset(); i < piece.offset() + piece.length(); i++) {
                        assertEquals(original.bits(piece.tensor(), i), in.readLong(), "rank " + r + " modified its gradients");
                    }
                }
            }
        }
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(120), "the failure took too long");
    }

    @Test
    void badArgumentsAreRefusedBeforeAnyConnection() {
        assertThrows(IllegalArgumentException.class, () -> C10dExchange.connect(URI.create("http://x:1"), 0, 2, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> C10dExchange.connect(URI.create("tcp://127.0.0.1:5000"), 2, 2, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> C10dExchange.connect(URI.create("tcp://127.0.0.1:5000"), 0, 1, Duration.ZERO));
    }
}
