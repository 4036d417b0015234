package dev.gradclip.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.cli.npz.NamedArray;
import dev.gradclip.cli.npz.NpzReader;
import dev.gradclip.cli.npz.NpzWriter;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests of issue 8 §1 that need a real process: a heap limit, a signal, a file name whose
 * bytes are not valid UTF-8 (a Java string cannot carry it to a child's argv; bash can).
 */
class CliProcessTest {
    @TempDir
    Path dir;

    /** The test classpath (surefire's real one, not its manifest-only booter jar). */
    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static List<String> cli(String... jvmOptionsThenArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        int i = 0;
        while (i < jvmOptionsThenArgs.length && jvmOptionsThenArgs[i].startsWith("-X")) {
            cmd.add(jvmOptionsThenArgs[i++]);
        }
        cmd.add("-cp");
        cmd.add(classPath());
        cmd.add("dev.gradclip.cli.Main");
        for (; i < jvmOptionsThenArgs.length; i++) {
            cmd.add(jvmOptionsThenArgs[i]);
        }
        return cmd;
    }

    record Run(int code, String out, String err) {
    }

    Run run(ProcessBuilder pb, long timeoutSeconds) throws Exception {
        Path o = dir.resolve("stdout.txt");
        Path e = dir.resolve("stderr.txt");
        Process p = pb.redirectOutput(o.toFile()).redirectError(e.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("the command did not finish in " + timeoutSeconds + " s: " + pb.command());
        }
        Run r = new Run(p.exitValue(), Files.readString(o), Files.readString(e));
        Files.delete(o);
        Files.delete(e);
        return r;
    }

    List<String> listing() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    static void writeFloats(Path path, int n, boolean compressed, long seed) throws Exception {
        float[] data = new float[n];
        Random rnd = new Random(seed);
        for (int i = 0; i < n; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        NpzWriter.write(path, List.of(NamedArray.ofFloat32("w", new long[] {n}, data)), compressed);
    }

    /** An --out name with invalid UTF-8 was written under a mangled name (U+FFFD) with exit 0. */
    @Test
    void outNameWithInvalidUtf8IsRefused() throws Exception {
        Path in = dir.resolve("in.npz");
        Files.copy(MainTest.resource("grads-small.npz"), in);
        ProcessBuilder pb = new ProcessBuilder("bash", "-c",
                "exec \"$JAVA\" -cp \"$CP\" dev.gradclip.cli.Main clip --in \"$IN\" --out \"$(printf '%s/bad\\377.npz' \"$DIR\")\" "
                        + "--op value --max 1 --backend cpu");
        pb.environment().put("JAVA", java());
        pb.environment().put("CP", classPath());
        pb.environment().put("IN", in.toString());
        pb.environment().put("DIR", dir.toString());
        pb.environment().put("LANG", "C.UTF-8");
        Run r = run(pb, 120);
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        assertTrue(r.err().contains("has bytes that are not valid UTF-8"), r.err());
        assertEquals(List.of("in.npz"), listing(), "nothing written under any name");
    }

    /**
     * SIGTERM while the archive is being written left the hidden temporary file behind; the shutdown
     * hook deletes it now. The input is deflated random data, so writing takes long enough to be caught.
     */
    @Test
    void sigtermDuringTheWriteLeavesNoTemporaryFile() throws Exception {
        Path in = dir.resolve("in.npz");
        writeFloats(in, 6_000_000, true, 1);
        Path out = dir.resolve("out.npz");
        Process p = new ProcessBuilder(cli("clip", "--in", in.toString(), "--out", out.toString(), "--op", "value",
                "--max", "0.5", "--backend", "cpu"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Path tmp = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (tmp == null && p.isAlive() && System.nanoTime() < deadline) {
            try (Stream<Path> s = Files.list(dir)) {
                tmp = s.filter(f -> f.getFileName().toString().startsWith(".out.npz.")).findFirst().orElse(null);
            }
            if (tmp == null) {
                Thread.sleep(2);
            }
        }
        assertTrue(tmp != null, "the temporary file was never seen (exit " + (p.isAlive() ? "none" : p.exitValue()) + ")");
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(143, p.exitValue(), "terminated by SIGTERM (128 + 15)");
        assertEquals(List.of("in.npz"), listing(), "neither the temporary file nor a partial OUT is left");
    }

    /**
     * The CLI held three copies of every array (the reader's, a copy to clip, a copy to write): an
     * 80 MB array needed 240 MB and failed with "internal error: OutOfMemoryError" (exit 1) under a
     * 200 MB heap. One copy now.
     */
    @Test
    void oneCopyOfTheDataFitsWhereThreeDidNot() throws Exception {
        Path in = dir.resolve("in.npz");
        writeFloats(in, 20_000_000, false, 2);
        Path out = dir.resolve("out.npz");
        Run r = run(new ProcessBuilder(cli("-Xmx200m", "-XX:+UseSerialGC", "clip", "--in", in.toString(), "--out", out.toString(),
                "--op", "global-norm", "--max-norm", "1", "--backend", "cpu")), 300);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("\"total_elements\":20000000"), r.out());
        assertEquals(20_000_000, NpzReader.read(out).arrays().get(0).size());
    }

    /** Out of memory is bad input for this JVM (exit 2) with the -Xmx hint, not an internal error. */
    @Test
    void outOfMemoryExits2WithTheHeapHint() throws Exception {
        Path in = dir.resolve("in.npz");
        writeFloats(in, 20_000_000, false, 3);
        Path out = dir.resolve("out.npz");
        Run r = run(new ProcessBuilder(cli("-Xmx96m", "-XX:+UseSerialGC", "clip", "--in", in.toString(), "--out", out.toString(),
                "--op", "global-norm", "--max-norm", "1", "--backend", "cpu")), 300);
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        assertTrue(r.err().contains("GRADCLIP_JAVA_OPTS=-Xmx8g"), r.err());
        assertFalse(r.err().contains("internal error"), r.err());
        assertFalse(Files.exists(out));
    }
}
