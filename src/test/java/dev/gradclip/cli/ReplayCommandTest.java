package dev.gradclip.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.Tensor;
import dev.gradclip.cli.npz.NamedArray;
import dev.gradclip.cli.npz.NpzArchive;
import dev.gradclip.cli.npz.NpzReader;
import dev.gradclip.cli.npz.NpzWriter;
import dev.gradclip.policy.ClipPolicy;
import dev.gradclip.policy.SpikeSkipper;
import dev.gradclip.policy.StepRecord;
import dev.gradclip.policy.TrainingClipper;
import dev.gradclip.testing.MiniJson;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gradclip replay} on archives generated here: outputs, log, summary, and bad input (exit 2, nothing written). */
class ReplayCommandTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    static float[] random(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    /** Writes {@code n} steps of a two-array model (w: [4, 6], b: [4]); step 11 is a spike (after 10 accepted), step 9 holds a NaN. */
    List<Path> steps(Path dir, int n) throws Exception {
        Files.createDirectories(dir);
        Random r = new Random(42);
        List<Path> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            double scale = s == 11 ? 100 : 0.1 * (1 + s % 4);
            float[] w = random(r, 24, scale);
            float[] b = random(r, 4, scale);
            if (s == 9) b[2] = Float.NaN;
            Path p = dir.resolve(String.format("step%03d.npz", s));
            NpzWriter.write(p, List.of(NamedArray.ofFloat32("w", new long[] {4, 6}, w), NamedArray.ofFloat32("b", new long[] {4}, b)),
                    s % 2 == 0);
            out.add(p);
        }
        return out;
    }

    static String[] args(List<String> opts, List<Path> steps) {
        List<String> a = new ArrayList<>();
        a.add("replay");
        a.addAll(opts);
        for (Path p : steps) a.add(p.toString());
        return a.toArray(new String[0]);
    }

    @Test
    void replaysAPolicyAndWritesOutputsLogAndSummary() throws Exception {
        List<Path> steps = steps(tmp.resolve("in"), 12);
        Path out = tmp.resolve("out");
        Result res = run(args(List.of("--out-dir", out.toString(), "--policy", "zclip:2.5:0.97:3", "--skip-above", "5",
                "--loss-scale", "2", "--backend", "cpu"), steps));
        assertEquals(0, res.code(), res.err());
        Map<String, Object> summary = MiniJson.parseObject(res.out().trim());
        assertEquals("replay", summary.get("command"));
        assertEquals(12L, summary.get("steps"));
        assertEquals("zclip:2.5:0.97:3", summary.get("policy"));
        assertEquals(out.resolve("norms.png").toString(), summary.get("plot"));
        byte[] png = Files.readAllBytes(out.resolve("norms.png"));
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG image");
        // the monitor's plot and suggest commands read the replay log
        Result suggest = run("suggest", out.resolve("log.jsonl").toString());
        assertEquals(0, suggest.code(), suggest.err());
        assertEquals(1L, summary.get("found_inf_steps"));

        List<String> lines = Files.readAllLines(out.resolve("log.jsonl"));
        assertEquals(12, lines.size());
        // the same run through the library, step by step
        TrainingClipper tc = TrainingClipper.builder(ClipPolicy.parse("zclip:2.5:0.97:3")).skipAbove(SpikeSkipper.of(5))
                .lossScale(2).build();
        try (Clipper c = Clipper.create(Backend.CPU)) {
            for (int s = 0; s < 12; s++) {
                Map<String, Object> line = MiniJson.parseObject(lines.get(s));
                assertEquals(List.of("step", "file", "total_norm", "threshold", "scale", "clipped", "skipped", "found_inf"),
                        new ArrayList<>(line.keySet()));
                assertEquals((long) s, line.get("step"));
                assertEquals(steps.get(s).getFileName().toString(), line.get("file"));
                NpzArchive in = NpzReader.read(steps.get(s));
                float[] w = in.arrays().get(0).floatData();
                float[] b = in.arrays().get(1).floatData();
                StepRecord want = tc.step(c, GradientSet.of(Tensor.of(w), Tensor.of(b)));
                assertEquals(want.toJsonLine(steps.get(s).getFileName().toString()), lines.get(s));
                NpzArchive got = NpzReader.read(out.resolve(steps.get(s).getFileName()));
                assertEquals(in.names(), got.names());
                assertEquals(in.compressed(), got.compressed());
                assertArrayEquals(w, got.arrays().get(0).floatData(), "step " + s);
                assertArrayEquals(b, got.arrays().get(1).floatData(), "step " + s);
                assertArrayEquals(new long[] {4, 6}, got.arrays().get(0).shape());
            }
        }
        Map<String, Object> spike = MiniJson.parseObject(lines.get(11));
        assertEquals(Boolean.TRUE, spike.get("skipped"));
        Map<String, Object> nan = MiniJson.parseObject(lines.get(9));
        assertEquals(Boolean.TRUE, nan.get("found_inf"));
        assertNull(MiniJson.parseObject(lines.get(0)).get("threshold"), "ZClip warm-up sets no threshold");
        assertFalse(res.out().contains("replayed"), "progress goes to stderr only");
    }

    @Test
    void agcReadsTheParameters() throws Exception {
        List<Path> steps = steps(tmp.resolve("in"), 3);
        Path params = tmp.resolve("params.npz");
        Random r = new Random(1);
        NpzWriter.write(params, List.of(NamedArray.ofFloat32("w", new long[] {4, 6}, random(r, 24, 1)),
                NamedArray.ofFloat32("b", new long[] {4}, random(r, 4, 1))), false);
        Path out = tmp.resolve("out");
        Result res = run(args(List.of("--out-dir", out.toString(), "--policy", "agc:0.01", "--params", params.toString(),
                "--backend", "emulated"), steps));
        assertEquals(0, res.code(), res.err());
        List<String> lines = Files.readAllLines(out.resolve("log.jsonl"));
        assertEquals(3, lines.size());
        Map<String, Object> l0 = MiniJson.parseObject(lines.get(0));
        assertNull(l0.get("threshold"));
        assertEquals(Boolean.TRUE, l0.get("clipped"));
        NpzArchive in = NpzReader.read(steps.get(0));
        NpzArchive got = NpzReader.read(out.resolve(steps.get(0).getFileName()));
        float[] gw = got.arrays().get(0).floatData();
        float[] iw = in.arrays().get(0).floatData();
        float[] pw = NpzReader.read(params).arrays().get(0).floatData();
        for (int u = 0; u < 4; u++) {   // every row of w now has norm ≤ λ·max(‖w_u‖, 1e-3) (+ rounding)
            double gn = 0;
            double wn = 0;
            double inn = 0;
            for (int j = 0; j < 6; j++) {
                gn += gw[u * 6 + j] * (double) gw[u * 6 + j];
                wn += pw[u * 6 + j] * (double) pw[u * 6 + j];
                inn += iw[u * 6 + j] * (double) iw[u * 6 + j];
            }
            double max = 0.01 * Math.max(Math.sqrt(wn), 1e-3);
            assertTrue(Math.sqrt(gn) <= max * (1 + 1e-6) || Math.sqrt(gn) == Math.sqrt(inn), "row " + u);
        }
    }

    @Test
    void badInputExitsTwoAndWritesNothing() throws Exception {
        List<Path> steps = steps(tmp.resolve("in"), 3);
        Path out = tmp.resolve("out");
        Path params = tmp.resolve("params.npz");
        NpzWriter.write(params, List.of(NamedArray.ofFloat32("w", new long[] {6, 4}, new float[24]),
                NamedArray.ofFloat32("b", new long[] {4}, new float[4])), false);
        Path partial = tmp.resolve("partial.npz");
        NpzWriter.write(partial, List.of(NamedArray.ofFloat32("w", new long[] {4, 6}, new float[24])), false);
        Path other = tmp.resolve("shape.npz");
        NpzWriter.write(other, List.of(NamedArray.ofFloat32("w", new long[] {4, 6}, new float[24]),
                NamedArray.ofFloat32("b", new long[] {5}, new float[5])), false);
        Path garbage = tmp.resolve("garbage.npz");
        Files.writeString(garbage, "not a zip");
        String o = out.toString();
        List<List<String>> bad = List.of(
                List.of("--out-dir", o, "--policy", "bogus:1"),
                List.of("--out-dir", o, "--policy", "linear:1:2"),
                List.of("--out-dir", o, "--policy", "agc:0.01"),                                   // missing params
                List.of("--out-dir", o, "--policy", "agc:0.01", "--params", params.toString()),    // shape mismatch
                List.of("--out-dir", o, "--policy", "agc:0.01", "--params", partial.toString()),   // missing array
                List.of("--out-dir", o, "--policy", "fixed:1", "--params", params.toString()),
                List.of("--out-dir", o, "--policy", "fixed:1", "--loss-scale", "0"),
                List.of("--out-dir", o, "--policy", "fixed:1", "--skip-above", "x"),
                List.of("--out-dir", o, "--policy", "fixed:1", "--semantics", "keras"),
                List.of("--out-dir", o, "--policy", "fixed:1", "--backend", "tpu"),
                List.of("--out-dir", o, "--policy", "fixed:1", "--frobnicate", "1"),
                List.of("--policy", "fixed:1"));
        for (List<String> opts : bad) {
            Result r = run(args(opts, steps));
            assertEquals(2, r.code(), opts + ": " + r.err());
            assertEquals("", r.out(), opts.toString());
            assertTrue(r.err().startsWith("gradclip replay: "), r.err());
            assertFalse(Files.exists(out), opts + " wrote " + out);
        }
        Result empty = run("replay", "--out-dir", o, "--policy", "fixed:1");
        assertEquals(2, empty.code());
        assertTrue(empty.err().contains("no STEP.npz"), empty.err());
        List<List<Path>> badSteps = List.of(
                List.of(steps.get(0), other),
                List.of(steps.get(0), garbage),
                List.of(steps.get(0), tmp.resolve("missing.npz")),
                List.of(steps.get(0), steps.get(1), steps.get(0)));
        for (List<Path> s : badSteps) {
            Result r = run(args(List.of("--out-dir", o, "--policy", "fixed:1"), s));
            assertEquals(2, r.code(), s + ": " + r.err());
            assertFalse(Files.exists(out), s + " wrote " + out);
        }
        Files.createDirectories(out);
        Result r = run(args(List.of("--out-dir", o, "--policy", "fixed:1", "--nonfinite", "error"),
                steps(tmp.resolve("in2"), 10)));
        assertEquals(3, r.code(), r.err());
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(0, s.count(), "nothing written under --nonfinite error");
        }
    }

    @Test
    void helpPrintsThePinnedUsage() {
        Result r = run("replay", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("gradclip replay --out-dir DIR --policy POLICY [--params PARAMS.npz] [--norm-type P]"));
        assertTrue(r.out().contains(
                "POLICY: fixed:M | linear:M0:M1:N | cosine:M0:M1:N | autoclip:P[:W] | zclip:Z[:ALPHA[:WARMUP]] | agc:LAMBDA[:EPS]"));
    }

    @Test
    void clipAcceptsALossScale() throws Exception {
        Path in = tmp.resolve("in.npz");
        Random r = new Random(9);
        float[] w = random(r, 24, 1000);
        NpzWriter.write(in, List.of(NamedArray.ofFloat32("w", new long[] {4, 6}, w)), false);
        Path out = tmp.resolve("out.npz");
        Result res = run("clip", "--in", in.toString(), "--out", out.toString(), "--op", "global-norm", "--max-norm", "1",
                "--loss-scale", "1024", "--backend", "cpu");
        assertEquals(0, res.code(), res.err());
        Map<String, Object> j = MiniJson.parseObject(res.out().trim());
        assertEquals(1024.0, j.get("loss_scale"));
        float[] want = w.clone();
        try (Clipper c = Clipper.create(Backend.CPU)) {
            dev.gradclip.policy.LossScaledClip.Result lr = dev.gradclip.policy.LossScaledClip.apply(c,
                    GradientSet.of(Tensor.of(want)), new dev.gradclip.ClipOperation.ByGlobalNorm(dev.gradclip.NormClip.of(1)), 1024);
            assertEquals(lr.totalNorm(), (Double) j.get("total_norm"));
        }
        assertArrayEquals(want, NpzReader.read(out).arrays().get(0).floatData());
        Result bad = run("clip", "--in", in.toString(), "--out", tmp.resolve("x.npz").toString(), "--op", "global-norm",
                "--max-norm", "1", "--loss-scale", "-1");
        assertEquals(2, bad.code());
        assertFalse(Files.exists(tmp.resolve("x.npz")));
    }
}
