package dev.gradclip.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.cli.npz.NamedArray;
import dev.gradclip.cli.npz.NpzWriter;
import dev.gradclip.distributed.ExchangeException;
import dev.gradclip.distributed.ExchangeProvider;
import dev.gradclip.internal.HalfFloats;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clip --rank R --world-size W --rendezvous ...} with ranks that are threads of this JVM (a test
 * provider over {@link dev.gradclip.distributed.LocalGroup}): every rank gets the bits of one {@code clip}
 * of the concatenated archive (the printed total_norm, scale and its slice of tensor_norms, and the raw
 * bytes of every array it writes), and every rank refuses the same mistakes. The same checks across JVMs
 * through PyTorch c10d are distributed/c10d's CliRanksTest; here the options are checked, cheaply.
 */
class ShardedClipTest {
    @TempDir
    Path dir;

    /** A distinct rendezvous per group (the test provider keys its groups by it; no socket is opened). */
    private static final AtomicInteger PORT = new AtomicInteger(21_000);

    record Result(int code, String out, String err) {
        /** The raw JSON text of a field's value (numbers as printed: equal text is equal bits). */
        String field(String name) {
            Matcher m = Pattern.compile("\"" + name + "\":(\\[[^\\]]*\\]|\"[^\"]*\"|[^,}]*)").matcher(out);
            if (!m.find()) throw new AssertionError("no " + name + " in " + out);
            return m.group(1);
        }
    }

    static Result run(ClassLoader contextLoader, String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int[] code = new int[1];
        Thread t = new Thread(() -> {
            try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
                 PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
                code[0] = Main.run(args, po, pe);
            }
        });
        t.setContextClassLoader(contextLoader);
        t.start();
        try {
            t.join(120_000);
        } catch (InterruptedException x) {
            throw new AssertionError(x);
        }
        if (t.isAlive()) throw new AssertionError("the command did not finish: " + String.join(" ", args));
        return new Result(code[0], o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    /** Runs the ranks listed in {@code started} as threads together; a rank's arguments come from {@code args}. */
    static Result[] ranks(ClassLoader contextLoader, int[] started, IntFunction<String[]> args) throws Exception {
        Result[] results = new Result[started.length];
        Thread[] threads = new Thread[started.length];
        for (int k = 0; k < started.length; k++) {
            int i = k;
            threads[k] = new Thread(() -> results[i] = run(contextLoader, args.apply(started[i])));
            threads[k].start();
        }
        for (Thread t : threads) t.join(180_000);
        return results;
    }

    /** A class loader that sees the test provider's service entry (the core's class path has none). */
    private ClassLoader withProvider() throws Exception {
        Path services = dir.resolve("spi/META-INF/services");
        Files.createDirectories(services);
        Files.writeString(services.resolve(ExchangeProvider.class.getName()), LocalGroupExchangeProvider.class.getName() + "\n");
        return new URLClassLoader(new URL[] {dir.resolve("spi").toUri().toURL()}, getClass().getClassLoader());
    }

    private static String rendezvous() {
        return "tcp://127.0.0.1:" + PORT.getAndIncrement();
    }

    /** Nine arrays of mixed dtypes: several 65,536-element chunks, one element, fp16 and fp64 among fp32. */
    static List<NamedArray> model(long seed, String prefix) {
        Random rnd = new Random(seed);
        int[] sizes = {131_195, 1, 777, 65_536, 3_000, 70_000, 5, 12_345, 65_537};
        char[] dtypes = {'f', 'f', 'h', 'd', 'h', 'f', 'd', 'f', 'h'};
        List<NamedArray> out = new ArrayList<>();
        for (int t = 0; t < sizes.length; t++) {
            int n = sizes[t];
            double spread = Math.pow(10, rnd.nextInt(4) - 3);
            String name = prefix + t;
            long[] shape = {n};
            switch (dtypes[t]) {
                case 'f' -> {
                    float[] a = new float[n];
                    for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * spread);
                    out.add(NamedArray.ofFloat32(name, shape, a));
                }
                case 'd' -> {
                    double[] a = new double[n];
                    for (int i = 0; i < n; i++) a[i] = rnd.nextGaussian() * spread;
                    out.add(NamedArray.ofFloat64(name, shape, a));
                }
                default -> {
                    short[] a = new short[n];
                    for (int i = 0; i < n; i++) a[i] = HalfFloats.floatToHalf((float) (rnd.nextGaussian() * spread));
                    out.add(NamedArray.ofFloat16(name, shape, a));
                }
            }
        }
        return out;
    }

    /** Writes the whole archive and the ranks' archives: contiguous runs of arrays in order (some ranks may get none). */
    private Path[] split(List<NamedArray> all, int[] cuts, String tag) throws Exception {
        NpzWriter.write(dir.resolve(tag + "-whole.npz"), all, false);
        Path[] ranks = new Path[cuts.length - 1];
        for (int r = 0; r + 1 < cuts.length; r++) {
            ranks[r] = dir.resolve(tag + "-rank" + r + ".npz");
            NpzWriter.write(ranks[r], all.subList(cuts[r], cuts[r + 1]), r % 2 == 1);
        }
        return ranks;
    }

    private static List<String> names(Path npz) throws Exception {
        List<String> names = new ArrayList<>();
        try (ZipFile z = new ZipFile(npz.toFile())) {
            for (Enumeration<? extends ZipEntry> e = z.entries(); e.hasMoreElements(); ) names.add(e.nextElement().getName());
        }
        return names;
    }

    /** The raw bytes of entry {@code name} (an array's .npy: header and data). */
    private static byte[] entry(Path npz, String name) throws Exception {
        try (ZipFile z = new ZipFile(npz.toFile())) {
            return z.getInputStream(z.getEntry(name)).readAllBytes();
        }
    }

    private static List<String> numbers(String jsonArray) {
        String inner = jsonArray.substring(1, jsonArray.length() - 1);
        return inner.isEmpty() ? List.of() : Arrays.asList(inner.split(","));
    }

    @Test
    void everyRankGetsTheBitsOfOneProcessForWorldSizes1To4() throws Exception {
        ClassLoader spi = withProvider();
        List<NamedArray> all = model(11, "g");
        int[][] cutsByWorld = {{0, 9}, {0, 4, 9}, {0, 1, 1, 9}, {0, 2, 5, 6, 9}}; // rank 1 of 3 holds no array
        String[][] runs = {{"global-norm", "2"}, {"global-norm", "inf"}, {"global-norm", "1"}, {"norms", "2"}};
        for (int w = 1; w <= 4; w++) {
            int world = w;
            Path[] rankIn = split(all, cutsByWorld[w - 1], "w" + w);
            for (String[] run : runs) {
                String op = run[0];
                String p = run[1];
                boolean norms = op.equals("norms");
                String what = "world " + world + " --op " + op + " p " + p;
                Path wholeOut = dir.resolve("whole-out.npz");
                List<String> common = new ArrayList<>(List.of("--op", op, "--norm-type", p));
                if (!norms) common.addAll(List.of("--max-norm", p.equals("inf") ? "0.01" : "0.5"));
                List<String> single = new ArrayList<>(List.of("clip", "--in", dir.resolve("w" + w + "-whole.npz").toString()));
                if (!norms) single.addAll(List.of("--out", wholeOut.toString()));
                single.addAll(common);
                Result one = run(getClass().getClassLoader(), single.toArray(String[]::new));
                assertEquals(0, one.code(), what + ": " + one.err());
                if (!norms) assertNotEquals("1.0", one.field("scale"), what + ": the reference must clip, or the test shows nothing");
                String rv = rendezvous();
                int[] started = new int[world];
                for (int r = 0; r < world; r++) started[r] = r;
                Result[] rs = ranks(spi, started, r -> {
                    List<String> a = new ArrayList<>(List.of("clip", "--in", rankIn[r].toString(), "--rank", String.valueOf(r),
                            "--world-size", String.valueOf(world), "--rendezvous", rv, "--timeout-s", "60"));
                    if (!norms) a.addAll(List.of("--out", dir.resolve("rank" + r + "-out.npz").toString()));
                    a.addAll(common);
                    return a.toArray(String[]::new);
                });
                List<String> wholeNorms = numbers(one.field("tensor_norms"));
                for (int r = 0; r < world; r++) {
                    Result res = rs[r];
                    String who = what + " rank " + r;
                    assertEquals(0, res.code(), who + ": " + res.err());
                    assertEquals(one.field("total_norm"), res.field("total_norm"), who);
                    assertEquals(one.field("scale"), res.field("scale"), who);
                    assertEquals(one.field("nonfinite_elements"), res.field("nonfinite_elements"), who);
                    int from = cutsByWorld[w - 1][r];
                    int to = cutsByWorld[w - 1][r + 1];
                    assertEquals(wholeNorms.subList(from, to), numbers(res.field("tensor_norms")), who + ": tensor_norms");
                    assertEquals(String.valueOf(from), res.field("global_tensor_offset"), who);
                    assertEquals("9", res.field("global_tensor_count"), who);
                    assertEquals(String.valueOf(r), res.field("rank"), who);
                    if (!norms) {
                        Path rankOut = dir.resolve("rank" + r + "-out.npz");
                        assertEquals(names(rankIn[r]), names(rankOut), who);
                        for (String name : names(rankOut)) {
                            assertArrayEquals(entry(wholeOut, name), entry(rankOut, name), who + ": array " + name);
                        }
                        Files.delete(rankOut);
                    }
                }
            }
        }
    }

    @Test
    void aNonFiniteElementOnOneRankIsDecidedGloballyOnEveryRank() throws Exception {
        ClassLoader spi = withProvider();
        List<NamedArray> all = model(5, "n");
        float[] poisoned = (float[]) all.get(7).sharedData();
        poisoned[3] = Float.intBitsToFloat(0x7fc0_1234); // a NaN with a payload, on rank 1
        Path[] rankIn = split(all, new int[] {0, 5, 9}, "nan");
        for (String policy : List.of("error", "skip", "propagate")) {
            Path wholeOut = dir.resolve("nan-whole-out.npz");
            Files.deleteIfExists(wholeOut);
            Result one = run(getClass().getClassLoader(), "clip", "--in", dir.resolve("nan-whole.npz").toString(), "--out",
                    wholeOut.toString(), "--op", "global-norm", "--max-norm", "0.5", "--nonfinite", policy);
            String rv = rendezvous();
            Result[] rs = ranks(spi, new int[] {0, 1}, r -> new String[] {"clip", "--in", rankIn[r].toString(), "--out",
                    dir.resolve("nan-out" + r + ".npz").toString(), "--op", "global-norm", "--max-norm", "0.5", "--nonfinite", policy,
                    "--rank", String.valueOf(r), "--world-size", "2", "--rendezvous", rv});
            for (int r = 0; r < 2; r++) {
                String who = "--nonfinite " + policy + " rank " + r;
                Path out = dir.resolve("nan-out" + r + ".npz");
                assertEquals(one.code(), rs[r].code(), who + ": " + rs[r].err());
                assertEquals(one.field("total_norm"), rs[r].field("total_norm"), who);
                assertEquals(one.field("scale"), rs[r].field("scale"), who);
                assertEquals(one.field("skipped"), rs[r].field("skipped"), who);
                assertEquals(one.field("nonfinite_elements"), rs[r].field("nonfinite_elements"), who);
                if (policy.equals("error")) {
                    assertEquals(3, rs[r].code(), who);
                    assertEquals(one.field("error"), rs[r].field("error"), who);
                    assertFalse(Files.exists(out), who + ": OUT must not be written");
                } else {
                    for (String name : names(out)) assertArrayEquals(entry(wholeOut, name), entry(out, name), who + ": array " + name);
                    Files.delete(out);
                }
            }
        }
        Result norms = run(getClass().getClassLoader(), "clip", "--in", dir.resolve("nan-whole.npz").toString(), "--op", "norms",
                "--nonfinite", "error");
        assertEquals(3, norms.code(), norms.err());
        String rv = rendezvous();
        Result[] rs = ranks(spi, new int[] {0, 1}, r -> new String[] {"clip", "--in", rankIn[r].toString(), "--op", "norms",
                "--nonfinite", "error", "--rank", String.valueOf(r), "--world-size", "2", "--rendezvous", rv});
        for (int r = 0; r < 2; r++) {
            assertEquals(3, rs[r].code(), "--op norms --nonfinite error rank " + r + ": " + rs[r].err());
            assertEquals(norms.field("error"), rs[r].field("error"));
            assertEquals(norms.field("total_norm"), rs[r].field("total_norm"));
        }
    }

    @Test
    void aRankThatNeverArrivesFailsTheOthersAndNothingIsWritten() throws Exception {
        ClassLoader spi = withProvider();
        Path[] rankIn = split(model(3, "m"), new int[] {0, 3, 6, 9}, "missing");
        String rv = rendezvous();
        long start = System.nanoTime();
        Result[] rs = ranks(spi, new int[] {0, 2}, r -> new String[] {"clip", "--in", rankIn[r].toString(), "--out",
                dir.resolve("missing-out" + r + ".npz").toString(), "--op", "global-norm", "--max-norm", "1", "--rank", String.valueOf(r),
                "--world-size", "3", "--rendezvous", rv, "--timeout-s", "1"}); // rank 1 never starts
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "the ranks must give up after about --timeout-s");
        for (int k = 0; k < 2; k++) {
            int r = k * 2;
            assertEquals(2, rs[k].code(), rs[k].err());
            assertEquals("", rs[k].out(), "no report on a failed exchange");
            assertTrue(rs[k].err().startsWith("gradclip: rank " + r + " of 3: "), rs[k].err());
            assertTrue(rs[k].err().contains("timed out") && rs[k].err().contains("nothing was written"), rs[k].err());
            assertFalse(Files.exists(dir.resolve("missing-out" + r + ".npz")));
        }
    }

    @Test
    void anArrayNameInTwoArchivesFailsEveryRank() throws Exception {
        ClassLoader spi = withProvider();
        List<NamedArray> a = model(1, "a").subList(0, 3);
        List<NamedArray> b = new ArrayList<>(model(2, "b").subList(0, 2));
        b.add(model(9, "a").get(1)); // "a1" again, on rank 1
        NpzWriter.write(dir.resolve("dup0.npz"), a, false);
        NpzWriter.write(dir.resolve("dup1.npz"), b, false);
        String rv = rendezvous();
        Result[] rs = ranks(spi, new int[] {0, 1}, r -> new String[] {"clip", "--in", dir.resolve("dup" + r + ".npz").toString(),
                "--out", dir.resolve("dup-out" + r + ".npz").toString(), "--op", "global-norm", "--max-norm", "1", "--rank",
                String.valueOf(r), "--world-size", "2", "--rendezvous", rv});
        for (int r = 0; r < 2; r++) {
            assertEquals(2, rs[r].code(), rs[r].err());
            assertTrue(rs[r].err().contains("the array name \"a1\" is in the archive of rank 0 and in the archive of rank 1"), rs[r].err());
            assertFalse(Files.exists(dir.resolve("dup-out" + r + ".npz")));
        }
    }

    @Test
    void ranksStartedWithDifferentOptionsFailEveryRank() throws Exception {
        ClassLoader spi = withProvider();
        Path[] rankIn = split(model(4, "o"), new int[] {0, 4, 9}, "opts");
        String rv = rendezvous();
        Result[] rs = ranks(spi, new int[] {0, 1}, r -> new String[] {"clip", "--in", rankIn[r].toString(), "--out",
                dir.resolve("opts-out" + r + ".npz").toString(), "--op", "global-norm", "--max-norm", r == 0 ? "1" : "0.5", "--rank",
                String.valueOf(r), "--world-size", "2", "--rendezvous", rv});
        for (int r = 0; r < 2; r++) {
            assertEquals(2, rs[r].code(), rs[r].err());
            assertTrue(rs[r].err().contains("different clip options: rank 0 has '--op global-norm --norm-type 2 --max-norm 1.0"), rs[r].err());
            assertFalse(Files.exists(dir.resolve("opts-out" + r + ".npz")));
        }
    }

    @Test
    void badShardOptionsAreRefusedBeforeAnythingIsRead() throws Exception {
        Path in = dir.resolve("in.npz");
        NpzWriter.write(in, model(6, "x").subList(0, 2), false);
        Path out = dir.resolve("out.npz");
        Files.writeString(out, "sentinel");
        ClassLoader spi = withProvider();
        String[][] bad = {
            {"--op", "value", "--max", "1", "--rank", "0", "--world-size", "2", "--rendezvous", "tcp://127.0.0.1:1", "apply to --op global-norm and --op norms only"},
            {"--op", "norm", "--max-norm", "1", "--world-size", "2", "--rank", "0", "--rendezvous", "tcp://h:1", "not to --op norm"},
            {"--op", "global-norm", "--max-norm", "1", "--world-size", "2", "--rank", "0", "missing --rendezvous"},
            {"--op", "global-norm", "--max-norm", "1", "--timeout-s", "5", "missing --rank"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "2", "--world-size", "2", "--rendezvous", "tcp://h:1", "--rank 2 is outside [0, 2)"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "-1", "--world-size", "2", "--rendezvous", "tcp://h:1", "--rank -1 is outside"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "0", "--world-size", "0", "--rendezvous", "tcp://h:1", "--world-size must be at least 1"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "x", "--world-size", "2", "--rendezvous", "tcp://h:1", "--rank needs an integer"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "0", "--world-size", "2", "--rendezvous", "http://h:1", "must be tcp://HOST:PORT"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "0", "--world-size", "2", "--rendezvous", "tcp://h", "tcp://HOST:PORT"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "0", "--world-size", "2", "--rendezvous", "tcp://h:70000", "tcp://HOST:PORT"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "0", "--world-size", "2", "--rendezvous", "tcp://h:1/x", "must be tcp://HOST:PORT"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "0", "--world-size", "2", "--rendezvous", "tcp://h:1", "--timeout-s", "0", "--timeout-s must be"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "0", "--world-size", "2", "--rendezvous", "tcp://h:1", "--timeout-s", "nan", "--timeout-s must be"},
            {"--op", "global-norm", "--max-norm", "1", "--rank", "0", "--world-size", "2", "--rendezvous", "tcp://h:1", "--timeout-s", "1e9", "--timeout-s must be"},
        };
        for (String[] b : bad) {
            List<String> args = new ArrayList<>(List.of("clip", "--in", in.toString()));
            args.addAll(Arrays.asList(b).subList(0, b.length - 1));
            args.addAll(List.of("--out", out.toString()));
            Result r = run(spi, args.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", b) + ": " + r.err());
            assertTrue(r.err().contains(b[b.length - 1]), String.join(" ", b) + ": " + r.err());
            assertEquals("", r.out());
            assertEquals("sentinel", Files.readString(out));
        }
        Result loss = run(spi, "clip", "--in", in.toString(), "--out", out.toString(), "--op", "global-norm", "--max-norm", "1",
                "--loss-scale", "1024", "--rank", "0", "--world-size", "1", "--rendezvous", "tcp://h:1");
        assertEquals(2, loss.code(), loss.err());
        assertTrue(loss.err().contains("--loss-scale does not apply to a clip sharded across processes"), loss.err());
        assertEquals("sentinel", Files.readString(out));
    }

    /** The core's class path has no exchange provider: exit 2, naming the module that provides one. */
    @Test
    void withoutTheC10dModuleAShardedClipSaysWhatIsMissing() throws Exception {
        Path in = dir.resolve("in.npz");
        NpzWriter.write(in, model(6, "x").subList(0, 2), false);
        Path out = dir.resolve("out.npz");
        Files.writeString(out, "sentinel");
        Result r = run(getClass().getClassLoader(), "clip", "--in", in.toString(), "--out", out.toString(), "--op", "global-norm",
                "--max-norm", "1", "--rank", "0", "--world-size", "1", "--rendezvous", "tcp://127.0.0.1:29500");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("needs the distributed/c10d module"), r.err());
        assertEquals("", r.out());
        assertEquals("sentinel", Files.readString(out));
    }

    @Test
    void manifestsRoundTripNamesOfAnyLengthAndGiveEveryRankItsOffset() {
        List<String> zero = List.of("", "seven77", "eight888", "nine99999", "ünï-cødé ✓ 𝄞");
        List<String> one = List.of();
        List<String> two = List.of("eight889", "nine99998");
        long[][] gathered = {RankManifest.encode("s", zero), RankManifest.encode("s", one), RankManifest.encode("s", two)};
        assertEquals(new RankManifest.Layout(0, 7), RankManifest.layout(gathered, 0));
        assertEquals(new RankManifest.Layout(5, 7), RankManifest.layout(gathered, 1));
        assertEquals(new RankManifest.Layout(5, 7), RankManifest.layout(gathered, 2));
        long[][] dup = {RankManifest.encode("s", List.of("x", "ünï-cødé ✓ 𝄞")), RankManifest.encode("s", List.of("ünï-cødé ✓ 𝄞"))};
        ExchangeException e = assertThrows(ExchangeException.class, () -> RankManifest.layout(dup, 1));
        assertTrue(e.getMessage().contains("in the archive of rank 0 and in the archive of rank 1"), e.getMessage());
        long[] truncated = Arrays.copyOf(gathered[0], gathered[0].length - 1);
        assertThrows(ExchangeException.class, () -> RankManifest.layout(new long[][] {truncated}, 0));
        assertThrows(ExchangeException.class, () -> RankManifest.layout(new long[][] {{42}}, 0));
    }
}
