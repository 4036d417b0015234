package dev.gradclip.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.testing.MiniJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LogRoundTripTest {
    @TempDir
    Path dir;

    static final List<String> NAMES = List.of("0_W", "0_b", "odd \"name\", with comma");

    /** Steps exercising every field: thresholds and none, NaN and infinite norms, files, skips, alerts. */
    static List<StepObservation> sampleSteps() {
        List<StepObservation> out = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            double total = i == 20 ? 500 : i == 25 ? Double.NaN : i == 26 ? Double.POSITIVE_INFINITY : 1 + 0.1 * i;
            StepObservation.Builder b = StepObservation.builder(i, total)
                    .tensorNorms(new double[]{total * 0.6, i < 12 ? 0 : total * 0.1, total * 0.3});
            if (i % 3 != 0) b.threshold(2.0 - 0.01 * i);
            if (i % 2 == 0) b.after(Math.min(total, 1.5), new double[]{0.9, 0.0, 0.45});
            if (i == 7) b.file("step-07.npz");
            if (i == 8) b.file("tab\tand \"quote\"");
            b.scale(i == 20 ? 0.003 : 1).clipped(i == 20).clippedFraction(i == 20 ? 1 : i == 5 ? Double.NaN : 0)
                    .skipped(i == 25).nonFiniteElements(i == 25 ? 3 : i == 26 ? -1 : 0);
            out.add(b.build());
        }
        return out;
    }

    private GradientMonitor monitorWithSinks(Path jsonl, Path csv) throws IOException {
        return new GradientMonitor(NAMES, MonitorConfig.defaults().withVanishing(1e-9, 5))
                .addSink(JsonLinesWriter.create(jsonl)).addSink(CsvWriter.create(csv));
    }

    @Test
    void jsonLinesRoundTripThroughMonitorLog() throws IOException {
        Path jsonl = dir.resolve("sub/log.jsonl");
        Path csv = dir.resolve("sub/log.csv");
        List<StepObservation> steps = sampleSteps();
        List<Alert> alerts;
        try (GradientMonitor m = monitorWithSinks(jsonl, csv)) {
            for (StepObservation s : steps) m.observe(s);
            alerts = m.alerts();
        }
        MonitorLog log = MonitorLog.read(jsonl);
        assertEquals(NAMES, log.tensorNames());
        assertEquals(steps, log.steps(), "every field read back exactly");
        assertEquals(alerts.size(), log.alerts().size());
        for (int i = 0; i < alerts.size(); i++) {
            Alert a = alerts.get(i), b = log.alerts().get(i);
            assertEquals(a.kind(), b.kind());
            assertEquals(a.step(), b.step());
            assertEquals(a.tensor(), b.tensor());
            assertEquals(a.tensorName(), b.tensorName());
            assertEquals(Double.doubleToLongBits(a.value()), Double.doubleToLongBits(b.value()));
            assertEquals(a.message(), b.message());
        }
        assertTrue(alerts.stream().anyMatch(a -> a.kind() == Alert.Kind.EXPLODING && a.step() == 20));
        assertTrue(alerts.stream().anyMatch(a -> a.kind() == Alert.Kind.VANISHING && a.tensorName().equals("0_b")));
        assertTrue(alerts.stream().anyMatch(a -> a.kind() == Alert.Kind.NON_FINITE && a.step() == 25));

        // every line is standard JSON (an independent parser) with the pinned replay fields first
        List<String> lines = Files.readAllLines(jsonl);
        assertEquals(30, lines.size());
        for (String line : lines) {
            Map<String, Object> o = MiniJson.parseObject(line);
            assertEquals(List.of("step", "file", "total_norm", "threshold", "scale", "clipped", "skipped", "found_inf"),
                    new ArrayList<>(o.keySet()).subList(0, 8));
        }
        Map<String, Object> l0 = MiniJson.parseObject(lines.get(0));
        assertEquals(null, l0.get("threshold"), "no threshold is null");
        Map<String, Object> l25 = MiniJson.parseObject(lines.get(25));
        assertEquals("NaN", l25.get("total_norm"));
        assertEquals(true, l25.get("found_inf"));
    }

    @Test
    void csvHasOneColumnPerTensorAndQuotedFields() throws IOException {
        Path jsonl = dir.resolve("log.jsonl");
        Path csv = dir.resolve("log.csv");
        try (GradientMonitor m = monitorWithSinks(jsonl, csv)) {
            for (StepObservation s : sampleSteps()) m.observe(s);
        }
        List<String> rows = Files.readAllLines(csv);
        assertEquals(31, rows.size());
        List<String> header = split(rows.get(0));
        assertEquals(15 + 2 * NAMES.size(), header.size());
        assertEquals("norm:odd \"name\", with comma", header.get(17));
        assertEquals("norm_after:0_W", header.get(18));
        List<String> r8 = split(rows.get(9));
        assertEquals("8", r8.get(0));
        assertEquals("tab\tand \"quote\"", r8.get(1));
        assertEquals(Double.toString(1 + 0.1 * 8), r8.get(2));
        assertEquals(Double.toString(2.0 - 0.01 * 8), r8.get(3));
        List<String> r0 = split(rows.get(1));
        assertEquals("", r0.get(3), "no threshold: empty field");
        List<String> r20 = split(rows.get(21));
        assertEquals("exploding", r20.get(14));
        assertEquals("true", r20.get(5));
        List<String> r26 = split(rows.get(27));
        assertEquals("inf", r26.get(2));
        assertEquals("-1", r26.get(10));
        List<String> r25 = split(rows.get(26));
        assertEquals("NaN", r25.get(2));
        assertEquals("non_finite", r25.get(14));
        for (String row : rows) assertEquals(header.size(), split(row).size(), row);
    }

    /** An RFC 4180 field splitter (quotes doubled inside quoted fields). */
    static List<String> split(String row) {
        List<String> out = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < row.length(); i++) {
            char c = row.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < row.length() && row.charAt(i + 1) == '"') { f.append('"'); i++; }
                else if (c == '"') quoted = false;
                else f.append(c);
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(f.toString());
                f.setLength(0);
            } else {
                f.append(c);
            }
        }
        out.add(f.toString());
        return out;
    }

    @Test
    void aReplayLogWithOnlyThePinnedFieldsIsRead() throws IOException {
        Path p = dir.resolve("log.jsonl");
        Files.writeString(p, String.join("\n",
                "{\"step\": 0, \"file\": \"a.npz\", \"total_norm\": 3.5, \"threshold\": 1.0, \"scale\": 0.2857, \"clipped\": true, \"skipped\": false, \"found_inf\": false}",
                "{\"step\": 1, \"file\": \"b.npz\", \"total_norm\": \"NaN\", \"threshold\": null, \"scale\": 1, \"clipped\": false, \"skipped\": true, \"found_inf\": true}",
                ""), StandardCharsets.UTF_8);
        MonitorLog log = MonitorLog.read(p);
        assertEquals(2, log.steps().size());
        StepObservation a = log.steps().get(0);
        assertEquals("a.npz", a.file());
        assertEquals(3.5, a.totalNorm());
        assertEquals(1.0, a.threshold());
        assertEquals(0.2857, a.scale());
        assertTrue(a.clipped());
        assertTrue(Double.isNaN(a.clippedFraction()), "unknown");
        assertEquals(-1, a.nonFiniteElements(), "not counted");
        assertEquals(0, a.tensorCount());
        StepObservation b = log.steps().get(1);
        assertTrue(Double.isNaN(b.totalNorm()));
        assertTrue(!b.hasThreshold() && b.skipped() && b.foundInf());
        assertTrue(log.tensorNames().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"step\": 0, \"total_norm\": 1",                       // truncated
        "[1, 2]",                                                // not an object
        "{\"total_norm\": 1}",                                   // no step
        "{\"step\": 0}",                                         // no total_norm
        "{\"step\": 0.5, \"total_norm\": 1}",                    // fractional step
        "{\"step\": 0, \"total_norm\": \"big\"}",                // a string that is no number
        "{\"step\": 0, \"total_norm\": -1}",                     // negative norm
        "{\"step\": 0, \"total_norm\": 1, \"clipped\": 1}",      // boolean expected
        "{\"step\": 0, \"total_norm\": 1, \"step\": 1}",         // duplicate key
        "{\"step\": 0, \"total_norm\": 1, \"tensor_norms\": [1]}",
        "{\"step\": 0, \"total_norm\": 1, \"clipped_fraction\": 2}",
        "{\"step\": 0, \"total_norm\": 1, \"alerts\": [{\"kind\": \"meltdown\"}]}",
        "{\"step\": 0, \"total_norm\": NaN}",                    // not JSON
        "{\"step\": 0, \"total_norm\": 01}",                     // leading zero
        "{\"step\": 0, \"total_norm\": 1} x",                    // trailing text
    })
    void malformedLinesAreRejectedNamingTheLine(String bad) throws IOException {
        Path p = dir.resolve("bad.jsonl");
        Files.writeString(p, "{\"step\": 0, \"total_norm\": 1}\n" + bad + "\n", StandardCharsets.UTF_8);
        LogFormatException e = assertThrows(LogFormatException.class, () -> MonitorLog.read(p));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void emptyMissingAndNonRegularLogsAreRejected() throws IOException {
        Path empty = dir.resolve("empty.jsonl");
        Files.writeString(empty, "\n  \n");
        assertThrows(LogFormatException.class, () -> MonitorLog.read(empty));
        assertThrows(NoSuchFileException.class, () -> MonitorLog.read(dir.resolve("missing.jsonl")));
        assertThrows(LogFormatException.class, () -> MonitorLog.read(dir));
        Path binary = dir.resolve("bin.jsonl");
        Files.write(binary, new byte[]{(byte) 0xff, (byte) 0xfe, 0x7b});
        assertThrows(LogFormatException.class, () -> MonitorLog.read(binary));
    }
}
