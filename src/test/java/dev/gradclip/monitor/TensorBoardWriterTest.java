package dev.gradclip.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads the monitor's TensorBoard event files back with a decoder written here from the format's
 * description (TFRecord framing, CRC-32C bit by bit, protobuf wire format), independent of the
 * writer's code (which uses java.util.zip.CRC32C).
 */
class TensorBoardWriterTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------ an independent reader

    /** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, one bit at a time. */
    static int crc32c(byte[] data, int from, int to) {
        int crc = 0xFFFFFFFF;
        for (int i = from; i < to; i++) {
            crc ^= data[i] & 0xFF;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
        }
        return ~crc;
    }

    static int masked(int crc) {
        return Integer.rotateRight(crc, 15) + 0xa282ead8;
    }

    static long le(byte[] b, int at, int n) {
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | (b[at + i] & 0xFF);
        return v;
    }

    /** The records of a TFRecord file; fails on a bad length, a bad CRC or trailing bytes. */
    static List<byte[]> records(byte[] file) {
        List<byte[]> out = new ArrayList<>();
        int at = 0;
        while (at < file.length) {
            assertTrue(at + 12 <= file.length, "truncated record header at " + at);
            long len = le(file, at, 8);
            assertEquals((int) le(file, at + 8, 4), masked(crc32c(file, at, at + 8)), "length CRC at " + at);
            assertTrue(len >= 0 && at + 12 + len + 4 <= file.length, "record length " + len + " at " + at);
            int start = at + 12, end = start + (int) len;
            assertEquals((int) le(file, end, 4), masked(crc32c(file, start, end)), "data CRC at " + at);
            byte[] data = new byte[(int) len];
            System.arraycopy(file, start, data, 0, data.length);
            out.add(data);
            at = end + 4;
        }
        assertEquals(file.length, at, "no trailing bytes");
        return out;
    }

    /** A protobuf field: number, wire type and its value (Long for varint/fixed, byte[] for length-delimited). */
    record Field(int number, int type, Object value) { }

    static List<Field> fields(byte[] msg) {
        List<Field> out = new ArrayList<>();
        int[] pos = {0};
        while (pos[0] < msg.length) {
            long key = varint(msg, pos);
            int number = (int) (key >>> 3), type = (int) (key & 7);
            switch (type) {
                case 0 -> out.add(new Field(number, type, varint(msg, pos)));
                case 1 -> { out.add(new Field(number, type, le(msg, pos[0], 8))); pos[0] += 8; }
                case 5 -> { out.add(new Field(number, type, le(msg, pos[0], 4))); pos[0] += 4; }
                case 2 -> {
                    int n = (int) varint(msg, pos);
                    byte[] v = new byte[n];
                    System.arraycopy(msg, pos[0], v, 0, n);
                    pos[0] += n;
                    out.add(new Field(number, type, v));
                }
                default -> throw new AssertionError("unexpected wire type " + type);
            }
        }
        assertEquals(msg.length, pos[0]);
        return out;
    }

    static long varint(byte[] b, int[] pos) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            int c = b[pos[0]++] & 0xFF;
            v |= (long) (c & 0x7F) << shift;
            if ((c & 0x80) == 0) return v;
        }
    }

    /** A decoded Event. */
    record Event(double wallTime, long step, String fileVersion, Map<String, Float> scalars) { }

    static Event event(byte[] data) {
        double wall = Double.NaN;
        long step = 0;
        String version = null;
        Map<String, Float> scalars = null;
        for (Field f : fields(data)) {
            switch (f.number()) {
                case 1 -> { assertEquals(1, f.type()); wall = Double.longBitsToDouble((Long) f.value()); }
                case 2 -> { assertEquals(0, f.type()); step = (Long) f.value(); }
                case 3 -> { assertEquals(2, f.type()); version = new String((byte[]) f.value(), StandardCharsets.UTF_8); }
                case 5 -> {
                    assertEquals(2, f.type());
                    scalars = new LinkedHashMap<>();
                    for (Field v : fields((byte[]) f.value())) {
                        assertEquals(1, v.number(), "Summary.value");
                        String tag = null;
                        Float value = null;
                        for (Field x : fields((byte[]) v.value())) {
                            if (x.number() == 1) tag = new String((byte[]) x.value(), StandardCharsets.UTF_8);
                            if (x.number() == 2) { assertEquals(5, x.type()); value = Float.intBitsToFloat((int) (long) (Long) x.value()); }
                        }
                        scalars.put(tag, value);
                    }
                }
                default -> throw new AssertionError("unexpected Event field " + f.number());
            }
        }
        return new Event(wall, step, version, scalars);
    }

    // ------------------------------------------------------------ tests

    @Test
    void theTestsCrcIsCrc32c() {
        assertEquals(0xE3069283, crc32c("123456789".getBytes(StandardCharsets.US_ASCII), 0, 9));
        byte[] b = "abc".getBytes(StandardCharsets.US_ASCII);
        assertEquals(masked(crc32c(b, 0, 3)), TensorBoardWriter.maskedCrc32c(b));
    }

    @Test
    void monitoredStepsReadBackWithFramingCrcsStepsAndValues() throws IOException {
        Clock clock = Clock.fixed(Instant.ofEpochSecond(1_700_000_000L, 250_000_000), ZoneOffset.UTC);
        List<String> names = List.of("dense/W", "dense/b");
        GradientMonitor m = new GradientMonitor(names, MonitorConfig.defaults().withExploding(5, 2));
        TensorBoardWriter tb = TensorBoardWriter.create(dir.resolve("tb"), clock, "host name/1");
        m.addSink(tb);
        double[] totals = {3.0, 2.5, 4.0, 100.0, 1e40, Double.NaN};
        for (int i = 0; i < totals.length; i++) {
            StepObservation.Builder b = StepObservation.builder(10 + i, totals[i])
                    .tensorNorms(new double[]{totals[i] * 0.8, totals[i] * 0.6})
                    .scale(i == 3 ? 0.01 : 1.0).clipped(i == 3).clippedFraction(i == 3 ? 1.0 : 0.0);
            if (i != 1) b.threshold(1.0);
            if (i == 3) b.after(1.0, new double[]{0.8, 0.6});
            if (i == 5) b.nonFiniteElements(7);
            m.observe(b.build());
        }
        m.close();
        Path file = tb.file();
        assertEquals("events.out.tfevents.1700000000.host_name_1", file.getFileName().toString());

        List<byte[]> recs = records(Files.readAllBytes(file));
        assertEquals(1 + totals.length, recs.size());
        Event first = event(recs.get(0));
        assertEquals("brain.Event:2", first.fileVersion());
        assertEquals(1_700_000_000.25, first.wallTime());
        for (int i = 0; i < totals.length; i++) {
            Event e = event(recs.get(i + 1));
            assertEquals(10 + i, e.step());
            assertEquals(1_700_000_000.25, e.wallTime());
            Map<String, Float> s = e.scalars();
            assertEquals((float) totals[i], s.get("gradients/total_norm"), "step " + i);
            assertEquals((float) (totals[i] * 0.8), s.get("tensor_norm/dense/W"));
            assertEquals((float) (totals[i] * 0.6), s.get("tensor_norm/dense/b"));
            assertEquals(i == 1 ? null : 1.0f, s.get("clipping/threshold"), "no threshold: no value");
            assertEquals(i == 3 ? 0.01f : 1.0f, s.get("clipping/scale"));
            assertEquals(i == 3 ? 1.0f : null, s.get("gradients/total_norm_after"), "unknown after-norm left out");
            assertEquals(i == 3 ? 0.8f : null, s.get("tensor_norm_after/dense/W"));
            assertEquals(i == 5 ? 7f : 0f, s.get("gradients/nonfinite_elements"));
            assertEquals(i == 3 || i == 4 ? 1f : 0f, s.get("alerts/exploding"), "100 and 1e40 > 5 x median(3, 2.5, 4)");
            assertEquals(i == 5 ? 1f : 0f, s.get("alerts/non_finite"));
            assertEquals(0f, s.get("clipping/skipped"));
        }
        assertEquals(Float.POSITIVE_INFINITY, event(recs.get(5)).scalars().get("gradients/total_norm"),
                "1e40 is beyond fp32: infinity");
        assertTrue(Float.isNaN(event(recs.get(6)).scalars().get("gradients/total_norm")));
    }

    @Test
    void negativeStepsAndLongTagsEncode() throws IOException {
        Clock clock = Clock.fixed(Instant.ofEpochSecond(5), ZoneOffset.UTC);
        try (TensorBoardWriter tb = TensorBoardWriter.create(dir, clock, "h")) {
            Map<String, Double> v = new LinkedHashMap<>();
            v.put("x".repeat(300), 1.5);
            v.put("é/ünïcode", -2.0);
            tb.writeScalars(-3, v);
            tb.writeScalars(1L << 40, Map.of("big", 0.0));
            tb.flush();
            List<byte[]> recs = records(Files.readAllBytes(tb.file()));
            Event e = event(recs.get(1));
            assertEquals(-3, e.step());
            assertEquals(1.5f, e.scalars().get("x".repeat(300)));
            assertEquals(-2.0f, e.scalars().get("é/ünïcode"));
            assertEquals(1L << 40, event(recs.get(2)).step());
        }
    }

    @Test
    void aSecondWriterInTheSameSecondGetsItsOwnFile() throws IOException {
        Clock clock = Clock.fixed(Instant.ofEpochSecond(42), ZoneOffset.UTC);
        try (TensorBoardWriter a = TensorBoardWriter.create(dir, clock, "h");
             TensorBoardWriter b = TensorBoardWriter.create(dir, clock, "h")) {
            assertNotEquals(a.file(), b.file());
            assertTrue(b.file().getFileName().toString().startsWith("events.out.tfevents.0000000042.h"));
        }
    }

    @Test
    void corruptionIsDetectedByTheReader() throws IOException {
        try (TensorBoardWriter tb = TensorBoardWriter.create(dir, Clock.systemUTC(), "h")) {
            tb.writeScalars(1, Map.of("a", 1.0));
            tb.flush();
            byte[] bytes = Files.readAllBytes(tb.file());
            bytes[bytes.length - 6] ^= 1;
            AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> records(bytes));
            assertFalse(e.getMessage().isEmpty());
        }
    }

    /** If Python's tensorboard package is installed, it must read the same scalars. */
    @Test
    void tensorboardItselfReadsTheFileWhenInstalled() throws Exception {
        Assumptions.assumeTrue(pythonHasTensorboard(), "python3 with the tensorboard package is not installed here");
        GradientMonitor m = new GradientMonitor(List.of("w"), MonitorConfig.defaults());
        TensorBoardWriter tb = TensorBoardWriter.create(dir.resolve("run"));
        m.addSink(tb);
        for (int i = 0; i < 5; i++) {
            m.observe(StepObservation.builder(i, 1.0 + i).tensorNorms(new double[]{0.5 + i}).threshold(2.0).build());
        }
        m.close();
        String script = "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator\n"
                + "ea = EventAccumulator('" + dir.resolve("run") + "'); ea.Reload()\n"
                + "print(','.join(str(e.value) for e in ea.Scalars('gradients/total_norm')))\n";
        Process p = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.endsWith("1.0,2.0,3.0,4.0,5.0"), out);
    }

    private static boolean pythonHasTensorboard() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import tensorboard").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
