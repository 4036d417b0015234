package dev.gradclip.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.monitor.GradientMonitor;
import dev.gradclip.monitor.JsonLinesWriter;
import dev.gradclip.monitor.MonitorConfig;
import dev.gradclip.monitor.StepObservation;
import dev.gradclip.testing.MiniJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code gradclip plot} and {@code gradclip suggest} on logs written by the monitor (and replay-shaped ones). */
class PlotSuggestCommandTest {
    @TempDir
    Path dir;
    Path log;

    record Result(int code, String out, String err) { }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A monitor log of 40 steps, norms 1..40 (step 30 non-finite), two tensors, threshold 10. */
    @BeforeEach
    void writeLog() throws IOException {
        log = dir.resolve("run/log.jsonl");
        try (GradientMonitor m = new GradientMonitor(List.of("w", "b"), MonitorConfig.defaults())
                .addSink(JsonLinesWriter.create(log))) {
            for (int i = 0; i < 40; i++) {
                double n = i == 30 ? Double.NaN : i + 1;
                m.observe(StepObservation.builder(i, n).tensorNorms(new double[]{n * 0.8, n * 0.6}).threshold(10)
                        .scale(n > 10 ? 10 / n : 1).clipped(n > 10).clippedFraction(n > 10 ? 1 : 0)
                        .nonFiniteElements(i == 30 ? 1 : 0).build());
            }
        }
    }

    @Test
    void plotWritesTheThreePngs() throws IOException {
        Path out = dir.resolve("plots");
        Result r = run("plot", log.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, Object> json = MiniJson.parseObject(r.out().trim());
        assertEquals(40L, ((Number) json.get("steps")).longValue());
        assertEquals(2L, ((Number) json.get("tensors")).longValue());
        assertTrue(((Number) json.get("alerts")).longValue() >= 1, "the non-finite step");
        for (String f : List.of("norms.png", "clipped-fraction.png", "tensor-norms.png")) {
            assertTrue(ImageIO.read(out.resolve(f).toFile()).getWidth() >= 1000, f);
        }
    }

    @Test
    void plotReadsAReplayShapedLog() throws IOException {
        Path replay = dir.resolve("replay.jsonl");
        Files.writeString(replay, "{\"step\":0,\"file\":\"a.npz\",\"total_norm\":2.0,\"threshold\":1.0,\"scale\":0.5,"
                + "\"clipped\":true,\"skipped\":false,\"found_inf\":false}\n"
                + "{\"step\":1,\"file\":\"b.npz\",\"total_norm\":0.5,\"threshold\":null,\"scale\":1.0,"
                + "\"clipped\":false,\"skipped\":false,\"found_inf\":false}\n");
        Path out = dir.resolve("replay-plots");
        Result r = run("plot", replay.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("norms.png")));
        assertTrue(Files.isRegularFile(out.resolve("clipped-fraction.png")));
        assertFalse(Files.exists(out.resolve("tensor-norms.png")), "no per-tensor norms in the log");
    }

    @ParameterizedTest
    @ValueSource(strings = {"missing", "directory", "malformed", "empty", "out-is-a-file", "no-out", "two-logs",
        "unknown-option"})
    void plotBadInputExits2AndWritesNothing(String kind) throws IOException {
        Path out = dir.resolve("never");
        String logArg = log.toString();
        String[] extra = {};
        switch (kind) {
            case "missing" -> logArg = dir.resolve("nope.jsonl").toString();
            case "directory" -> logArg = dir.toString();
            case "malformed" -> { Path p = dir.resolve("m.jsonl"); Files.writeString(p, "{\"step\": 0,\n"); logArg = p.toString(); }
            case "empty" -> { Path p = dir.resolve("e.jsonl"); Files.writeString(p, ""); logArg = p.toString(); }
            case "out-is-a-file" -> { out = dir.resolve("file"); Files.writeString(out, "x"); }
            case "two-logs" -> extra = new String[]{log.toString()};
            case "unknown-option" -> extra = new String[]{"--colour", "red"};
            default -> { }
        }
        Result r;
        if (kind.equals("no-out")) {
            r = run("plot", logArg);
        } else {
            String[] args = new String[4 + extra.length];
            args[0] = "plot";
            args[1] = logArg;
            args[2] = "--out";
            args[3] = out.toString();
            System.arraycopy(extra, 0, args, 4, extra.length);
            r = run(args);
        }
        assertEquals(2, r.code(), kind + ": " + r.err());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("gradclip: plot: "), r.err());
        if (!kind.equals("out-is-a-file")) assertFalse(Files.exists(out), kind + ": nothing written");
        else assertEquals("x", Files.readString(out));
    }

    @Test
    void suggestPrintsThePercentileAndItsRationale() {
        Result r = run("suggest", log.toString(), "--percentile", "50", "--warmup", "20");
        assertEquals(0, r.code(), r.err());
        Map<String, Object> json = MiniJson.parseObject(r.out().trim());
        assertEquals(10.5, ((Number) json.get("threshold")).doubleValue(), 1e-12, "median of 1..20");
        assertEquals("fixed:10.5", json.get("policy"));
        assertEquals(20L, ((Number) json.get("steps_used")).longValue());
        assertEquals(10L, ((Number) json.get("would_clip")).longValue());
        assertTrue(r.err().contains("the 50th percentile"), r.err());
        assertTrue(r.err().contains("--policy fixed:10.5"), r.err());

        Result all = run("suggest", log.toString());
        assertEquals(0, all.code(), all.err());
        Map<String, Object> j = MiniJson.parseObject(all.out().trim());
        assertEquals(39L, ((Number) j.get("steps_used")).longValue(), "the NaN step is left out");
        // numpy.percentile([1..30, 32..40], 90): h = 38 * 0.9 = 34.2 -> 36 + 0.2 * (37 - 36)
        assertEquals(36.2, ((Number) j.get("threshold")).doubleValue(), 1e-12);
    }

    @ParameterizedTest
    @ValueSource(strings = {"--percentile=101", "--percentile=abc", "--percentile=0x10", "--warmup=-1", "--warmup=1.5",
        "--percentile"})
    void suggestBadOptionsExit2(String option) {
        Result r = run("suggest", log.toString(), option);
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void suggestBadLogsExit2() throws IOException {
        Path nan = dir.resolve("nan.jsonl");
        Files.writeString(nan, "{\"step\": 0, \"total_norm\": \"NaN\"}\n");
        Path garbage = dir.resolve("g.jsonl");
        Files.writeString(garbage, "not json\n");
        Path blank = dir.resolve("blank.jsonl");
        Files.writeString(blank, "\n\n");
        for (Path p : List.of(nan, garbage, blank, dir.resolve("missing.jsonl"), dir)) {
            Result r = run("suggest", p.toString());
            assertEquals(2, r.code(), p + ": " + r.err());
            assertEquals("", r.out());
            assertTrue(r.err().startsWith("gradclip: suggest: "), r.err());
        }
        assertEquals(2, run("suggest").code());
    }
}
