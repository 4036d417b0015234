package dev.gradclip.c10d;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.cli.Main;
import dev.gradclip.cli.npz.NamedArray;
import dev.gradclip.cli.npz.NpzWriter;
import dev.gradclip.internal.HalfFloats;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line sharded across JVMs on loopback ({@code gradclip clip --rank R --world-size W --rendezvous
 * tcp://127.0.0.1:PORT}, the provider of this module found by ServiceLoader): every rank prints the total_norm
 * and scale of one {@code clip} of the concatenated archive and its own slice of tensor_norms, and writes
 * arrays with the raw bytes of that clip; names in two archives and a rank that never starts fail every
 * started rank with exit 2 and nothing written. The rank JVMs' stdout (where Gloo prints) goes to a log and
 * the report to the file of {@link Main#STDOUT_FILE_PROPERTY}, as bin/gradclip runs them.
 * CI runs world sizes 1-3 (GRADCLIP_C10D_FULL=true: 1-4); each rank is a JVM that loads libtorch (seconds each),
 * so the cases are few.
 */
class CliRanksTest {
    private static final boolean FULL = Boolean.getBoolean("gradclip.c10d.full");

    @TempDir
    static Path dir;

    /** Eight arrays, fp32 and fp16, three of them several 65,536-element chunks long. */
    private static List<NamedArray> model;

    @BeforeAll
    static void setUp() throws Exception {
        C10dExchange.loadLibtorch(); // one extraction before the rank JVMs start
        Random rnd = new Random(2026);
        int[] sizes = {131_195, 7, 65_536, 3_001, 70_000, 1, 12_345, 65_537};
        model = new ArrayList<>();
        for (int t = 0; t < sizes.length; t++) {
            int n = sizes[t];
            double spread = Math.pow(10, rnd.nextInt(3) - 3);
            if (t % 2 == 0) {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * spread);
                model.add(NamedArray.ofFloat32("layer" + t, new long[] {n}, a));
            } else {
                short[] a = new short[n];
                for (int i = 0; i < n; i++) a[i] = HalfFloats.floatToHalf((float) (rnd.nextGaussian() * spread));
                model.add(NamedArray.ofFloat16("layer" + t, new long[] {n}, a));
            }
        }
        NpzWriter.write(dir.resolve("whole.npz"), model, false);
    }

    /** A contiguous split of the model into {@code world} archives; returns the cut points. */
    private static int[] split(int world, String tag) throws Exception {
        int[] cuts = new int[world + 1];
        for (int r = 0; r <= world; r++) cuts[r] = r * model.size() / world;
        for (int r = 0; r < world; r++) {
            NpzWriter.write(dir.resolve(tag + "-in" + r + ".npz"), model.subList(cuts[r], cuts[r + 1]), r % 2 == 1);
        }
        return cuts;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    record Rank(int code, String report, String stderr) {
        String field(String name) {
            Matcher m = Pattern.compile("\"" + name + "\":(\\[[^\\]]*\\]|\"[^\"]*\"|[^,}]*)").matcher(report);
            if (!m.find()) throw new AssertionError("no " + name + " in " + report + "\nstderr:\n" + stderr);
            return m.group(1);
        }
    }

    /** Starts the listed ranks as JVMs running the CLI, waits for all, and returns each one's exit code, report and stderr. */
    private static Rank[] ranks(String tag, int[] started, IntFunction<List<String>> args) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> ps = new ArrayList<>();
        for (int r : started) {
            List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-D" + Main.STDOUT_FILE_PROPERTY + "=" + dir.resolve(tag + "-report" + r),
                    "-cp", cp, Main.class.getName(), "clip"));
            cmd.addAll(args.apply(r));
            ps.add(new ProcessBuilder(cmd).redirectOutput(dir.resolve(tag + "-stdout" + r + ".log").toFile())
                    .redirectError(dir.resolve(tag + "-stderr" + r + ".log").toFile()).start());
        }
        Rank[] out = new Rank[started.length];
        for (int k = 0; k < started.length; k++) {
            int r = started[k];
            Process p = ps.get(k);
            Path stderr = dir.resolve(tag + "-stderr" + r + ".log");
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                for (Process q : ps) q.destroyForcibly();
                throw new AssertionError("rank " + r + " did not finish; its stderr:\n" + Files.readString(stderr));
            }
            out[k] = new Rank(p.exitValue(), Files.readString(dir.resolve(tag + "-report" + r)), Files.readString(stderr));
        }
        return out;
    }

    private static String oneProcess(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code;
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
             PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, po, pe);
        }
        assertEquals(0, code, e.toString(StandardCharsets.UTF_8));
        return o.toString(StandardCharsets.UTF_8);
    }

    private static List<String> names(Path npz) throws Exception {
        List<String> names = new ArrayList<>();
        try (ZipFile z = new ZipFile(npz.toFile())) {
            for (Enumeration<? extends ZipEntry> e = z.entries(); e.hasMoreElements(); ) names.add(e.nextElement().getName());
        }
        return names;
    }

    private static byte[] entry(Path npz, String name) throws Exception {
        try (ZipFile z = new ZipFile(npz.toFile())) {
            return z.getInputStream(z.getEntry(name)).readAllBytes();
        }
    }

    private static List<String> numbers(String jsonArray) {
        String inner = jsonArray.substring(1, jsonArray.length() - 1);
        return inner.isEmpty() ? List.of() : Arrays.asList(inner.split(","));
    }

    /**
     * CI: (world 1, p 2), (2, inf), (3, 2), (3, inf), nine rank JVMs; full: worlds 1-4 with both p. The
     * in-JVM ShardedClipTest of the core covers worlds 1-4 with p = 1, 2, inf and --op norms on threads.
     */
    @Test
    void ranksInSeparateJvmsPrintAndWriteTheBitsOfOneProcess() throws Exception {
        int maxWorld = FULL ? 4 : 3;
        for (String p : List.of("2", "inf")) {
            String maxNorm = p.equals("2") ? "0.5" : "0.01";
            Path wholeOut = dir.resolve("whole-out-" + p + ".npz");
            Rank one = new Rank(0, oneProcess("clip", "--in", dir.resolve("whole.npz").toString(), "--out", wholeOut.toString(),
                    "--op", "global-norm", "--norm-type", p, "--max-norm", maxNorm), "");
            assertNotEquals("1.0", one.field("scale"), "the reference must clip, or the test shows nothing");
            List<String> wholeNorms = numbers(one.field("tensor_norms"));
            for (int world = 1; world <= maxWorld; world++) {
                if (!FULL && world < 3 && (world == 1) != p.equals("2")) continue;
                String tag = "w" + world + "p" + p;
                int[] cuts = split(world, tag);
                int[] started = new int[world];
                for (int r = 0; r < world; r++) started[r] = r;
                int w = world;
                String rendezvous = "tcp://127.0.0.1:" + freePort();
                Rank[] rs = ranks(tag, started, r -> List.of("--in", dir.resolve(tag + "-in" + r + ".npz").toString(), "--out",
                        dir.resolve(tag + "-out" + r + ".npz").toString(), "--op", "global-norm", "--norm-type", p, "--max-norm", maxNorm,
                        "--rank", String.valueOf(r), "--world-size", String.valueOf(w), "--rendezvous", rendezvous, "--timeout-s", "60"));
                for (int r = 0; r < world; r++) {
                    Rank rank = rs[r];
                    String who = "p " + p + " world " + world + " rank " + r;
                    assertEquals(0, rank.code(), who + ": " + rank.stderr());
                    assertTrue(rank.report().matches("\\{[^\n]*\\}\n"), who + ": the report is one JSON object: " + rank.report());
                    assertEquals(one.field("total_norm"), rank.field("total_norm"), who);
                    assertEquals(one.field("scale"), rank.field("scale"), who);
                    assertEquals(wholeNorms.subList(cuts[r], cuts[r + 1]), numbers(rank.field("tensor_norms")), who + ": tensor_norms");
                    assertEquals("\"c10d\"", rank.field("exchange"), who);
                    Path out = dir.resolve(tag + "-out" + r + ".npz");
                    assertEquals(names(dir.resolve(tag + "-in" + r + ".npz")), names(out), who);
                    for (String name : names(out)) {
                        assertArrayEquals(entry(wholeOut, name), entry(out, name), who + ": the bytes of " + name);
                    }
                }
            }
        }
    }

    @Test
    void anArrayNameInTwoArchivesFailsEveryRankWithExit2() throws Exception {
        NpzWriter.write(dir.resolve("dup-in0.npz"), model.subList(0, 3), false);
        NpzWriter.write(dir.resolve("dup-in1.npz"), model.subList(2, 5), false); // layer2 on both
        String rendezvous = "tcp://127.0.0.1:" + freePort();
        Rank[] rs = ranks("dup", new int[] {0, 1}, r -> List.of("--in", dir.resolve("dup-in" + r + ".npz").toString(), "--out",
                dir.resolve("dup-out" + r + ".npz").toString(), "--op", "global-norm", "--max-norm", "1", "--rank", String.valueOf(r),
                "--world-size", "2", "--rendezvous", rendezvous, "--timeout-s", "60"));
        for (int r = 0; r < 2; r++) {
            assertEquals(2, rs[r].code(), rs[r].stderr());
            assertTrue(rs[r].stderr().contains("the array name \"layer2\" is in the archive of rank 0 and in the archive of rank 1"),
                    rs[r].stderr());
            assertEquals("", rs[r].report());
            assertFalse(Files.exists(dir.resolve("dup-out" + r + ".npz")));
        }
    }

    @Test
    void aRankThatNeverStartsFailsTheOthersWithinTheTimeoutAndNothingIsWritten() throws Exception {
        split(3, "missing");
        String rendezvous = "tcp://127.0.0.1:" + freePort();
        long start = System.nanoTime();
        Rank[] rs = ranks("missing", new int[] {0, 2}, r -> List.of("--in", dir.resolve("missing-in" + r + ".npz").toString(), "--out",
                dir.resolve("missing-out" + r + ".npz").toString(), "--op", "global-norm", "--max-norm", "1", "--rank", String.valueOf(r),
                "--world-size", "3", "--rendezvous", rendezvous, "--timeout-s", "4")); // rank 1 never starts
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        for (int k = 0; k < 2; k++) {
            int r = 2 * k;
            String stderr = rs[k].stderr();
            assertEquals(2, rs[k].code(), stderr);
            String line = stderr.lines().filter(l -> l.startsWith("gradclip: ")).findFirst().orElse("");
            assertTrue(line.startsWith("gradclip: rank " + r + " of 3: ") && line.endsWith("nothing was written"), stderr);
            assertTrue(line.length() < 600, "a short message, not a C++ stack trace: " + line);
            assertEquals("", rs[k].report());
            assertFalse(Files.exists(dir.resolve("missing-out" + r + ".npz")));
        }
        assertTrue(seconds < 60, "the ranks took " + seconds + " s to give up with --timeout-s 4");
    }
}
