package dev.gradclip.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.cli.npz.NamedArray;
import dev.gradclip.cli.npz.NpzReader;
import dev.gradclip.testing.MiniJson;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests of issue 8 §1 for what --in and --out name: files that are not regular files,
 * symbolic links, and option values that only the library's records judge.
 */
class CliFileTypesTest {
    @TempDir
    Path dir;
    Path in;

    record Result(int code, String out, String err) {
        Map<String, Object> json() {
            return MiniJson.parseObject(out.strip());
        }
    }

    static Result run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code;
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
             PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            code = Main.run(args, po, pe);
        }
        return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    @BeforeEach
    void copyExample() throws Exception {
        in = dir.resolve("in.npz");
        Files.copy(MainTest.resource("grads-small.npz"), in);
    }

    Result clipTo(Path out) {
        return run("clip", "--in", in.toString(), "--out", out.toString(), "--op", "value", "--max", "0.0625", "--backend", "cpu");
    }

    void mkfifo(Path p) throws Exception {
        Process pr = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
        assertEquals(0, pr.waitFor(), "mkfifo");
    }

    static BasicFileAttributes attrs(Path p) throws Exception {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    List<String> listing() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    /** Renaming a regular file over /dev/null (as root) replaced the device: now refused, exit 2. */
    @Test
    void devNullIsNotReplaced() throws Exception {
        Path devNull = Path.of("/dev/null");
        assertTrue(attrs(devNull).isOther(), "/dev/null is a device here");
        Result r = clipTo(devNull);
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        assertTrue(r.err().contains("--out /dev/null: exists and is not a regular file"), r.err());
        assertTrue(attrs(devNull).isOther(), "/dev/null is still a device");
        assertFalse(attrs(devNull).isRegularFile());
    }

    @Test
    void fifoOutIsNotReplaced() throws Exception {
        Path fifo = dir.resolve("out.fifo");
        mkfifo(fifo);
        Result r = clipTo(fifo);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("is not a regular file"), r.err());
        assertTrue(attrs(fifo).isOther(), "still a FIFO");
        assertEquals(List.of("in.npz", "out.fifo"), listing(), "no temporary file");
    }

    /** /dev/stdout is a symbolic link (to /proc/self/fd/1) to whatever stdout is: refused unless a regular file. */
    @Test
    void symlinkToAFifoIsNotReplaced() throws Exception {
        Path fifo = dir.resolve("target.fifo");
        mkfifo(fifo);
        Path link = dir.resolve("link.npz");
        Files.createSymbolicLink(link, fifo);
        Result r = clipTo(link);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("(-> " + fifo.toRealPath() + ") exists and is not a regular file"), r.err());
        assertTrue(attrs(link).isSymbolicLink(), "the link is still a link");
        assertTrue(attrs(fifo).isOther(), "the FIFO is still a FIFO");
    }

    /** A link to a regular file is written through: the target gets the archive, the link stays a link. */
    @Test
    void symlinkToARegularFileIsWrittenThrough() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Path target = sub.resolve("target.npz");
        Files.writeString(target, "old");
        Path link = dir.resolve("link.npz");
        Files.createSymbolicLink(link, Path.of("sub", "target.npz"));
        Result r = clipTo(link);
        assertEquals(0, r.code(), r.err());
        assertTrue(attrs(link).isSymbolicLink(), "the link is still a link");
        assertTrue(attrs(target).isRegularFile());
        for (NamedArray a : NpzReader.read(target).arrays()) {
            for (int i = 0; i < a.size(); i++) {
                assertTrue(Math.abs(a.getDouble(i)) <= 0.0625, a.name());
            }
        }
        assertEquals(List.of("target.npz"), Files.list(sub).map(p -> p.getFileName().toString()).collect(Collectors.toList()));
    }

    @Test
    void danglingSymlinkIsRefused() throws Exception {
        Path link = dir.resolve("link.npz");
        Files.createSymbolicLink(link, dir.resolve("missing.npz"));
        Result r = clipTo(link);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("is a symbolic link to a missing file"), r.err());
        assertFalse(Files.exists(dir.resolve("missing.npz")));
        assertTrue(attrs(link).isSymbolicLink());
    }

    /** Opening a FIFO for reading blocks until a writer appears: --in on one hung. Refused at once now. */
    @Test
    void fifoInIsRefusedWithoutHanging() throws Exception {
        Path fifo = dir.resolve("in.fifo");
        mkfifo(fifo);
        Result r = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> run("clip", "--in", fifo.toString(),
                "--op", "norms", "--backend", "cpu"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("in.fifo: is not a regular file (a FIFO, device or socket)"), r.err());
    }

    /** The CLI used to refuse --max-norm 0, which NormClip accepts (torch: every gradient becomes 0). */
    @Test
    void maxNormZeroIsWhatTheLibrarySaysItIs() throws Exception {
        Path out = dir.resolve("out.npz");
        Result r = run("clip", "--in", in.toString(), "--out", out.toString(), "--op", "global-norm", "--max-norm", "0",
                "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        assertEquals(0.0, ((Number) r.json().get("max_norm")).doubleValue());
        assertEquals(0.0, ((Number) r.json().get("scale")).doubleValue());
        for (NamedArray a : NpzReader.read(out).arrays()) {
            for (int i = 0; i < a.size(); i++) {
                assertEquals(0.0, Math.abs(a.getDouble(i)), a.name());
            }
        }
    }

    /** The CLI speaks the library's ClipOperation vocabulary: --op renormalize is ClipOperation.Renormalize. */
    @Test
    void renormalizeIsTheLibrarysOperation() throws Exception {
        Path out = dir.resolve("out.npz");
        Result r = run("clip", "--in", in.toString(), "--out", out.toString(), "--op", "renormalize", "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        assertEquals("renormalize", r.json().get("op"));
        assertEquals("2", r.json().get("norm_type"));
        Result after = run("clip", "--in", out.toString(), "--op", "norms", "--backend", "cpu");
        for (Object n : (List<?>) after.json().get("tensor_norms")) {
            assertEquals(1.0, ((Number) n).doubleValue(), 2e-3); // fp16 tensors round to 11 bits
        }
        Result bad = run("clip", "--in", in.toString(), "--out", out.toString(), "--op", "renormalize", "--max-norm", "1");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--max-norm does not apply to --op renormalize"), bad.err());
    }

    /** p >= 2^63 was printed as 9223372036854775807 (a long cast). */
    @Test
    void hugeNormTypeIsPrintedAsItsValue() {
        Result r = run("clip", "--in", in.toString(), "--op", "norms", "--norm-type", "1e19", "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        assertEquals("1.0E19", r.json().get("norm_type"));
        Result big = run("clip", "--in", in.toString(), "--op", "norms", "--norm-type", "9007199254740992", "--backend", "cpu");
        assertEquals("9.007199254740992E15", big.json().get("norm_type"));
        Result exact = run("clip", "--in", in.toString(), "--op", "norms", "--norm-type", "9007199254740991", "--backend", "cpu");
        assertEquals("9007199254740991", exact.json().get("norm_type"));
    }

    /** The clipped archive equals clipping the reader's arrays in place (the CLI no longer copies them). */
    @Test
    void clipsTheReadersArraysInPlace() throws Exception {
        Path out = dir.resolve("out.npz");
        Result r = run("clip", "--in", in.toString(), "--out", out.toString(), "--op", "value", "--max", "0.0625", "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        List<NamedArray> before = NpzReader.read(in).arrays();
        List<NamedArray> after = NpzReader.read(out).arrays();
        assertEquals(before.size(), after.size());
        for (int t = 0; t < before.size(); t++) {
            NamedArray b = before.get(t);
            NamedArray a = after.get(t);
            assertArrayEquals(b.shape(), a.shape());
            for (int i = 0; i < b.size(); i++) {
                assertEquals(Math.max(-0.0625, Math.min(0.0625, b.getDouble(i))), a.getDouble(i), 1e-7, b.name());
            }
        }
    }
}
