package dev.gradclip.cli;

import dev.gradclip.testing.MiniJson;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.cli.npz.NamedArray;
import dev.gradclip.cli.npz.NpyDtype;
import dev.gradclip.cli.npz.NpzArchive;
import dev.gradclip.cli.npz.NpzReader;
import dev.gradclip.cli.npz.NpzWriter;
import dev.gradclip.internal.HalfFloats;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class MainTest {
    @TempDir
    Path dir;
    Path in;
    Path out;

    record Result(int code, String out, String err) {
        Map<String, Object> json() {
            return MiniJson.parseObject(out.strip());
        }
    }

    /** Where the CUDA backend cannot run (no GPU, or not built), asking for it is exit 2 with the reason. */
    @Test
    void unavailableCudaBackendExits2WithTheReason() throws Exception {
        dev.gradclip.BackendStatus cuda = dev.gradclip.Clipper.availableBackends().get(1);
        org.junit.jupiter.api.Assumptions.assumeFalse(cuda.available(), "a CUDA device is present here");
        Files.writeString(out, "sentinel");
        Result r = run("clip", "--in", p(in), "--out", p(out), "--op", "norm", "--max-norm", "1", "--backend", "cuda");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("backend cuda is not available: " + cuda.detail()), r.err());
        assertEquals("sentinel", Files.readString(out));
    }

    /** The emulated kernels and the CPU write the same archive and the same report, bit for bit. */
    @Test
    void emulatedBackendGivesTheCpuResultBitForBit() throws Exception {
        Path outCpu = dir.resolve("cpu.npz");
        Result cpu = run("clip", "--in", p(in), "--out", p(outCpu), "--op", "global-norm", "--max-norm", "1", "--backend", "cpu");
        Result emu = run("clip", "--in", p(in), "--out", p(out), "--op", "global-norm", "--max-norm", "1", "--backend", "emulated");
        assertEquals(0, cpu.code(), cpu.err());
        assertEquals(0, emu.code(), emu.err());
        assertTrue(emu.out().contains("\"backend\":\"emulated\""), emu.out());
        String strip = "\"backend\":\"[a-z]+\"|\"backend_reason\":\"[^\"]*\"|\"out\":\"[^\"]*\"";
        assertEquals(cpu.out().replaceAll(strip, ""), emu.out().replaceAll(strip, ""));
        assertArrayEquals(Files.readAllBytes(outCpu), Files.readAllBytes(out));
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

    static Path resource(String name) {
        try {
            return Path.of(MainTest.class.getResource("/npz/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeEach
    void copyExample() throws Exception {
        in = dir.resolve("in.npz");
        Files.copy(resource("grads-small.npz"), in);
        out = dir.resolve("out.npz");
    }

    String p(Path path) {
        return path.toString();
    }

    // ------------------------------------------------------------------ help and info

    @Test
    void helpPrintsUsage() {
        for (String[] args : new String[][] {{"--help"}, {"-h"}, {"help"}, {"clip", "--help"}, {"clip", "--op", "value", "-h"}}) {
            Result r = run(args);
            assertEquals(0, r.code());
            assertTrue(r.out().startsWith("usage:"), r.out());
            assertTrue(r.out().contains("--max-norm X"));
            assertEquals("", r.err());
        }
    }

    @Test
    void infoListsBackends() {
        Result r = run("info");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> j = r.json();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> backends = (List<Map<String, Object>>) j.get("backends");
        List<String> names = new ArrayList<>();
        for (Map<String, Object> b : backends) {
            names.add((String) b.get("name"));
            assertTrue(b.get("available") instanceof Boolean);
            assertTrue(b.get("reason") instanceof String && !((String) b.get("reason")).isEmpty());
        }
        assertEquals(List.of("cpu", "cuda", "emulated"), names);
        assertEquals(true, backends.get(0).get("available"));
        assertTrue(j.get("auto").equals("cpu") || j.get("auto").equals("cuda"));
        assertEquals(2, run("info", "extra").code());
    }

    // ------------------------------------------------------------------ the operations

    static double[] values(NamedArray a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.getDouble(i);
        }
        return v;
    }

    static double l2(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x * x;
        }
        return s;
    }

    /** The value clipping by scale {@code scale} must store for element {@code x} of dtype {@code dt}. */
    static double scaled(NpyDtype dt, double x, double scale) {
        switch (dt) {
            case FLOAT64:
                return x * scale;
            case FLOAT32:
                return (float) x * (float) scale;
            default:
                return HalfFloats.halfToFloat(HalfFloats.floatToHalf((float) x * (float) scale));
        }
    }

    static double num(Object o) {
        return ((Number) o).doubleValue();
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    void assertSameLayout(NpzArchive a, NpzArchive b) {
        assertEquals(a.names(), b.names());
        assertEquals(a.compressed(), b.compressed());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.arrays().get(i).dtype(), b.arrays().get(i).dtype());
            assertArrayEquals(a.arrays().get(i).shape(), b.arrays().get(i).shape());
        }
    }

    @Test
    void globalNormClipsEveryTensorByOneScale() throws Exception {
        Result r = run("clip", "--in", p(in), "--out", p(out), "--op", "global-norm", "--max-norm", "1.0");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        Map<String, Object> j = r.json();
        NpzArchive src = NpzReader.read(in);
        NpzArchive dst = NpzReader.read(out);
        assertSameLayout(src, dst);
        assertEquals("global-norm", j.get("op"));
        assertEquals("cpu", j.get("backend"));
        assertEquals(src.names(), j.get("tensor_names"));

        double sum = 0;
        List<Object> norms = list(j.get("tensor_norms"));
        assertEquals(src.size(), norms.size());
        for (int t = 0; t < src.size(); t++) {
            double s = l2(values(src.arrays().get(t)));
            sum += s;
            assertEquals(Math.sqrt(s), num(norms.get(t)), 1e-12 * Math.sqrt(s), src.names().get(t));
        }
        double total = num(j.get("total_norm"));
        assertEquals(Math.sqrt(sum), total, 1e-12 * total);
        double scale = num(j.get("scale"));
        assertEquals(Math.min(1.0 / (total + 1e-6), 1.0), scale);
        assertTrue(scale < 1);
        long n = 0;
        for (int t = 0; t < src.size(); t++) {
            NamedArray a = src.arrays().get(t);
            double[] before = values(a);
            double[] after = values(dst.arrays().get(t));
            for (int i = 0; i < before.length; i++) {
                assertEquals(scaled(a.dtype(), before[i], scale), after[i], a.name() + "[" + i + "]");
            }
            n += a.size();
        }
        assertEquals(n, ((Number) j.get("clipped_elements")).longValue());
        assertEquals(n, ((Number) j.get("total_elements")).longValue());
        assertEquals(0L, j.get("nonfinite_elements"));
        assertEquals(false, j.get("skipped"));
        assertEquals("2", j.get("norm_type"));
        assertEquals("torch", j.get("semantics"));
        assertEquals(p(out), j.get("out"));
        assertFalse(r.out().strip().contains("\n"), "one line of JSON");
    }

    @Test
    void perTensorNormWithTfSemanticsAndL1() throws Exception {
        Result r = run("clip", "--in", p(in), "--out", p(out), "--op", "norm", "--max-norm", "2.5",
                "--semantics", "tf", "--norm-type", "1");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> j = r.json();
        NpzArchive src = NpzReader.read(in);
        NpzArchive dst = NpzReader.read(out);
        assertSameLayout(src, dst);
        List<Object> norms = list(j.get("tensor_norms"));
        List<Object> scales = list(j.get("tensor_scales"));
        double minScale = 1;
        for (int t = 0; t < src.size(); t++) {
            NamedArray a = src.arrays().get(t);
            double[] v = values(a);
            double l1 = 0;
            for (double x : v) {
                l1 += Math.abs(x);
            }
            double norm = num(norms.get(t));
            assertEquals(l1, norm, 1e-12 * l1);
            double s = 2.5 / Math.max(norm, 2.5);
            assertEquals(s, num(scales.get(t)), a.name());
            minScale = Math.min(minScale, s);
            double[] after = values(dst.arrays().get(t));
            for (int i = 0; i < v.length; i++) {
                assertEquals(scaled(a.dtype(), v[i], s), after[i], a.name() + "[" + i + "]");
            }
        }
        assertEquals(minScale, num(j.get("scale")));
        assertEquals("1", j.get("norm_type"));
        assertEquals("tf", j.get("semantics"));
        assertEquals(2.5, num(j.get("max_norm")));
    }

    @Test
    void valueClampsIntoTheRange() throws Exception {
        Result r = run("clip", "--in", p(in), "--out", p(out), "--op", "value", "--min", "-0.5", "--max", "2");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> j = r.json();
        NpzArchive src = NpzReader.read(in);
        NpzArchive dst = NpzReader.read(out);
        assertSameLayout(src, dst);
        long clipped = 0;
        for (int t = 0; t < src.size(); t++) {
            double[] v = values(src.arrays().get(t));
            double[] after = values(dst.arrays().get(t));
            for (int i = 0; i < v.length; i++) {
                if (v[i] < -0.5 || v[i] > 2) {
                    clipped++;
                }
                assertEquals(Math.min(Math.max(v[i], -0.5), 2), after[i]);
            }
        }
        assertTrue(clipped > 0);
        assertEquals(clipped, ((Number) j.get("clipped_elements")).longValue());
        assertNull(j.get("total_norm"));
        assertNull(j.get("tensor_norms"));
        assertEquals(-0.5, num(j.get("min")));
        assertEquals(2.0, num(j.get("max")));
        assertEquals("value", j.get("op"));
    }

    @Test
    void valueMinDefaultsToMinusMax() throws Exception {
        Result r = run("clip", "--in", p(in), "--out", p(out), "--op", "value", "--max", "0.25");
        assertEquals(0, r.code(), r.err());
        assertEquals(-0.25, num(r.json().get("min")));
        for (NamedArray a : NpzReader.read(out).arrays()) {
            for (double x : values(a)) {
                assertTrue(x >= -0.25 && x <= 0.25, a.name() + " " + x);
            }
        }
    }

    @Test
    void normsWritesNothing() throws Exception {
        Result r = run("clip", "--in", p(in), "--op", "norms", "--norm-type", "inf");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> j = r.json();
        double max = 0;
        for (NamedArray a : NpzReader.read(in).arrays()) {
            for (double x : values(a)) {
                max = Math.max(max, Math.abs(x));
            }
        }
        assertEquals(max, num(j.get("total_norm")));
        assertEquals("inf", j.get("norm_type"));
        assertEquals(1.0, num(j.get("scale")));
        assertEquals(0L, j.get("clipped_elements"));
        assertNull(j.get("out"));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(in), s.toList());
        }
        Result p3 = run("clip", "--in", p(in), "--op", "norms", "--norm-type", "3.5");
        assertEquals(0, p3.code(), p3.err());
        assertEquals("3.5", p3.json().get("norm_type"));
    }

    @Test
    void keepsDeflatedInputDeflated() throws Exception {
        NpzArchive src = NpzReader.read(in);
        Path deflated = dir.resolve("deflated.npz");
        NpzWriter.write(deflated, src.arrays(), true);
        Result r = run("clip", "--in", p(deflated), "--out", p(out), "--op", "global-norm", "--max-norm", "1e9");
        assertEquals(0, r.code(), r.err());
        assertEquals(true, r.json().get("compressed"));
        NpzArchive dst = NpzReader.read(out);
        assertTrue(dst.compressed());
        assertEquals(1.0, num(r.json().get("scale")));
        assertEquals(0L, r.json().get("clipped_elements"));
        for (int i = 0; i < src.size(); i++) {
            assertEquals(src.arrays().get(i), dst.arrays().get(i)); // scale 1: unchanged
        }
    }

    @Test
    void emptyArchiveAndEmptyArrays() throws Exception {
        Path empty = dir.resolve("empty.npz");
        NpzWriter.write(empty, List.of(NamedArray.ofFloat32("e", new long[] {0, 4}, new float[0]),
                NamedArray.ofFloat64("s", new long[0], new double[] {3.0})), false);
        Result r = run("clip", "--in", p(empty), "--out", p(out), "--op", "global-norm", "--max-norm", "1");
        assertEquals(0, r.code(), r.err());
        assertEquals(3.0, num(r.json().get("total_norm")), 1e-15);
        NpzArchive dst = NpzReader.read(out);
        assertArrayEquals(new long[] {0, 4}, dst.arrays().get(0).shape());
        assertArrayEquals(new long[0], dst.arrays().get(1).shape());

        Path none = dir.resolve("none.npz");
        NpzWriter.write(none, List.of(), false);
        Result r2 = run("clip", "--in", p(none), "--op", "norms");
        assertEquals(0, r2.code(), r2.err());
        assertEquals(0.0, num(r2.json().get("total_norm")));
    }

    // ------------------------------------------------------------------ non-finite input

    Path nonFiniteInput() throws Exception {
        Path nf = dir.resolve("nf.npz");
        NpzWriter.write(nf, List.of(NamedArray.ofFloat32("a", new long[] {3}, new float[] {1, Float.NaN, 2}),
                NamedArray.ofFloat64("b", new long[] {2}, new double[] {Double.POSITIVE_INFINITY, 1})), false);
        return nf;
    }

    @Test
    void nonFinitePropagate() throws Exception {
        Path nf = nonFiniteInput();
        Result r = run("clip", "--in", p(nf), "--out", p(out), "--op", "global-norm", "--max-norm", "1");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> j = r.json();
        assertEquals("NaN", j.get("total_norm"));
        assertEquals("NaN", j.get("scale"));
        assertEquals(List.of("NaN", "Infinity"), j.get("tensor_norms"));
        assertEquals(2L, j.get("nonfinite_elements"));
        assertTrue(Files.exists(out));
    }

    @Test
    void nonFiniteErrorExits3AndWritesNothing() throws Exception {
        Path nf = nonFiniteInput();
        Files.writeString(out, "sentinel");
        for (String[] op : new String[][] {{"global-norm", "--max-norm", "1"}, {"norm", "--max-norm", "1"}, {"value", "--max", "1"}}) {
            List<String> args = new ArrayList<>(List.of("clip", "--in", p(nf), "--out", p(out), "--nonfinite", "error", "--op"));
            args.addAll(List.of(op));
            Result r = run(args.toArray(new String[0]));
            assertEquals(3, r.code(), op[0] + ": " + r.err());
            assertTrue(r.err().startsWith("gradclip: "), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("was not written"), r.err());
            Map<String, Object> j = r.json();
            assertTrue(j.get("error") instanceof String);
            assertNull(j.get("out"));
            assertEquals(2L, j.get("nonfinite_elements"));
            assertEquals("sentinel", Files.readString(out));
        }
        Result norms = run("clip", "--in", p(nf), "--op", "norms", "--nonfinite", "error");
        assertEquals(3, norms.code());
        assertEquals("NaN", norms.json().get("total_norm"));
    }

    @Test
    void nonFiniteSkipCopiesInput() throws Exception {
        Path nf = nonFiniteInput();
        Result r = run("clip", "--in", p(nf), "--out", p(out), "--op", "global-norm", "--max-norm", "1e-3",
                "--nonfinite", "skip");
        assertEquals(0, r.code(), r.err());
        assertEquals(true, r.json().get("skipped"));
        assertEquals(1.0, num(r.json().get("scale")));
        NpzArchive src = NpzReader.read(nf);
        NpzArchive dst = NpzReader.read(out);
        for (int i = 0; i < src.size(); i++) {
            assertEquals(src.arrays().get(i), dst.arrays().get(i));
        }
    }

    // ------------------------------------------------------------------ usage errors

    static Stream<Arguments> badUsage() {
        return Stream.of(
                Arguments.of(new String[] {}, "no command given"),
                Arguments.of(new String[] {"frobnicate"}, "unknown command 'frobnicate'"),
                Arguments.of(new String[] {"clip", "IN", "--op", "norms"}, "unexpected argument '"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "1", "--bogus", "1"}, "unknown option '--bogus'"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max"}, "option --max needs a value"),
                Arguments.of(new String[] {"clip", "--in", "--out", "OUT", "--op", "norms"}, "option --in needs a value"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "1", "--max", "2"}, "option --max given twice"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT"}, "missing --op"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "clamp"}, "unknown --op 'clamp'"),
                Arguments.of(new String[] {"clip", "--out", "OUT", "--op", "value", "--max", "1"}, "missing --in"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--op", "value", "--max", "1"}, "missing --out"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value"}, "missing --max"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "abc"}, "--max needs a number, got 'abc'"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "0x1p3"}, "--max needs a number"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "1f"}, "--max needs a number"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "NaN"}, "--max NaN: clip value must be >= 0, got NaN"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--min", "nan", "--max", "1"}, "--min nan --max 1: clip-by-value min is NaN"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--min", "2", "--max", "1"}, "--min 2 --max 1: clip-by-value min 2.0 is greater than max 1.0"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "-1"}, "--max -1: clip value must be >= 0, got -1.0"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "1", "--max-norm", "1"}, "--max-norm does not apply to --op value"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "value", "--max", "1", "--norm-type", "2"}, "--norm-type does not apply to --op value"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norm", "--max", "1"}, "--max does not apply to --op norm"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--op", "norms", "--semantics", "tf"}, "--semantics does not apply to --op norms"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norms"}, "--out does not apply to --op norms"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "global-norm"}, "missing --max-norm"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "global-norm", "--max-norm", "-1"}, "--max-norm -1: max norm must be finite and >= 0, got -1.0"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "global-norm", "--max-norm", "inf"}, "--max-norm inf: max norm must be finite and >= 0, got Infinity"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "global-norm", "--max-norm", "nan"}, "--max-norm nan: max norm is NaN"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norm", "--max-norm", "1", "--norm-type", "0"}, "--norm-type 0: norm type p must be > 0 (or infinity), got 0.0"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norm", "--max-norm", "1", "--norm-type", "-2"}, "--norm-type -2: norm type p must be > 0 (or infinity), got -2.0"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norm", "--max-norm", "1", "--norm-type", "-inf"}, "--norm-type -inf: norm type p must be > 0 (or infinity), got -Infinity"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norm", "--max-norm", "1", "--norm-type", "two"}, "--norm-type needs a number, got 'two'"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norm", "--max-norm", "1", "--semantics", "keras"}, "unknown --semantics 'keras' (expected torch, tf)"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norm", "--max-norm", "1", "--nonfinite", "ignore"}, "unknown --nonfinite 'ignore' (expected propagate, error, skip)"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "OUT", "--op", "norm", "--max-norm", "1", "--backend", "tpu"}, "unknown backend 'tpu'"),
                Arguments.of(new String[] {"clip", "--in", "MISSING", "--out", "OUT", "--op", "norm", "--max-norm", "1"}, "missing.npz: no such file"),
                Arguments.of(new String[] {"clip", "--in", "GARBAGE", "--out", "OUT", "--op", "norm", "--max-norm", "1"}, "not a valid zip archive"),
                Arguments.of(new String[] {"clip", "--in", "INT32", "--out", "OUT", "--op", "norm", "--max-norm", "1"}, "entry 'ints.npy': dtype '<i4': integer arrays are not supported"),
                Arguments.of(new String[] {"clip", "--in", "PICKLED", "--out", "OUT", "--op", "norm", "--max-norm", "1"}, "object arrays (pickled Python objects) are not supported"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "NODIR", "--op", "norm", "--max-norm", "1"}, "does not exist"),
                Arguments.of(new String[] {"clip", "--in", "IN", "--out", "DIR", "--op", "norm", "--max-norm", "1"}, "is a directory"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badUsage")
    void badUsageExits2WithOneLineAndLeavesOutAlone(String[] template, String fragment) throws Exception {
        Files.writeString(out, "sentinel");
        String[] args = template.clone();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "IN": args[i] = p(in); break;
                case "OUT": args[i] = p(out); break;
                case "MISSING": args[i] = p(dir.resolve("missing.npz")); break;
                case "GARBAGE": args[i] = p(resource("garbage.npz")); break;
                case "INT32": args[i] = p(resource("int32.npz")); break;
                case "PICKLED": args[i] = p(resource("object_pickled.npz")); break;
                case "NODIR": args[i] = p(dir.resolve("no/such/dir/out.npz")); break;
                case "DIR": args[i] = p(dir); break;
                default: break;
            }
        }
        Result r = run(args);
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out(), "nothing on stdout");
        assertTrue(r.err().startsWith("gradclip: "), r.err());
        assertTrue(r.err().contains(fragment), r.err());
        assertTrue(r.err().endsWith("\n"));
        boolean inputProblem = fragment.contains("available") || fragment.contains("file") || fragment.contains("zip")
                || fragment.contains("entry") || fragment.contains("exist") || fragment.contains("directory") || fragment.contains("pickled");
        assertEquals(!inputProblem, r.err().contains("(see gradclip --help)"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertEquals("sentinel", Files.readString(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(2, s.count(), "no temporary files"); // in.npz and out.npz
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"--max=1", "--max=+1.5e0"})
    void equalsFormAndSignedNumbers(String max) throws Exception {
        Result r = run("clip", "--in=" + p(in), "--out=" + p(out), "--op=value", max, "--min", "-1", "--backend=cpu",
                "--nonfinite=propagate");
        assertEquals(0, r.code(), r.err());
        assertEquals(-1.0, num(r.json().get("min")));
    }

    @Test
    void infiniteValueBoundsAreAllowed() throws Exception {
        Result r = run("clip", "--in", p(in), "--out", p(out), "--op", "value", "--max", "inf");
        assertEquals(0, r.code(), r.err());
        assertEquals("-Infinity", r.json().get("min"));
        assertEquals("Infinity", r.json().get("max"));
        assertEquals(0L, r.json().get("clipped_elements"));
    }

    @Test
    void inPlaceOverwriteOfTheInputWorks() throws Exception {
        Result r = run("clip", "--in", p(in), "--out", p(in), "--op", "value", "--max", "0.1");
        assertEquals(0, r.code(), r.err());
        for (NamedArray a : NpzReader.read(in).arrays()) {
            for (double x : values(a)) {
                assertTrue(Math.abs(x) <= 0.1 + 1e-7, a.name());
            }
        }
    }

    @Test
    void shippedExampleMatchesTheTestResource() throws Exception {
        assertArrayEquals(Files.readAllBytes(resource("grads-small.npz")), Files.readAllBytes(Path.of("examples", "grads-small.npz")));
        NpzArchive a = NpzReader.read(Path.of("examples", "grads-small.npz"));
        assertEquals(List.of("embed.weight", "layer0.weight", "layer0.bias", "head.weight", "head.bias", "scale"), a.names());
        assertFalse(a.compressed());
    }
}
