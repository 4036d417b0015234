package dev.gradclip.monitor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * Writes scalars as a TensorBoard event file, so gradient norms appear where people already look
 * ({@code tensorboard --logdir DIR}). Hand-encoded: the core jar takes no dependencies.
 *
 * <h2>File</h2>
 * {@code DIR/events.out.tfevents.<seconds since the epoch, 10 digits>.<host>} (a {@code .N} suffix is
 * added if that name exists). A sequence of TFRecord records, each
 * <pre>
 * uint64 length              little-endian
 * uint32 masked_crc32c(length bytes)
 * byte   data[length]        one serialized Event protobuf
 * uint32 masked_crc32c(data)
 * </pre>
 * with CRC-32C (Castagnoli, as {@link CRC32C}) and {@code masked = ((crc >>> 15) | (crc << 17)) +
 * 0xa282ead8} (mod 2^32). The first record is an Event with {@code file_version = "brain.Event:2"}.
 *
 * <h2>Protobuf (proto3 wire format)</h2>
 * <pre>
 * Event   { double wall_time = 1;  int64 step = 2;  string file_version = 3;  Summary summary = 5; }
 * Summary { repeated Value value = 1; }
 * Value   { string tag = 1;  float simple_value = 2; }
 * </pre>
 * encoded as: field key = (number &lt;&lt; 3) | wire type; wall_time fixed64 (type 1, IEEE double
 * little-endian), step varint (type 0, two's complement for negatives), strings and messages
 * length-delimited (type 2, varint length), simple_value fixed32 (type 5, IEEE float little-endian).
 * Values are stored as fp32 ({@code simple_value} is a float): norms beyond fp32's range read back as
 * infinity. Wall time is seconds since the epoch.
 *
 * <h2>Tags written per monitored step</h2>
 * {@code gradients/total_norm}, {@code gradients/total_norm_after}, {@code gradients/rolling_median},
 * {@code gradients/nonfinite_elements}, {@code clipping/threshold} (only when the step has one),
 * {@code clipping/scale}, {@code clipping/clipped_fraction}, {@code clipping/skipped} (0 or 1),
 * {@code alerts/exploding}, {@code alerts/vanishing}, {@code alerts/non_finite} (alerts of that kind at
 * the step), and per tensor {@code tensor_norm/NAME} and {@code tensor_norm_after/NAME}. A value not
 * known (NaN after-norms, fraction) is left out rather than written as NaN; a NaN or infinite
 * <em>measured</em> norm is written as is.
 */
public final class TensorBoardWriter implements StepSink {
    /** The file_version of the first event. */
    public static final String FILE_VERSION = "brain.Event:2";

    private static final int MASK_DELTA = 0xa282ead8;

    private final Path file;
    private final OutputStream out;
    private final Clock clock;

    private TensorBoardWriter(Path file, OutputStream out, Clock clock) {
        this.file = file;
        this.out = out;
        this.clock = clock;
    }

    /**
     * {@return a writer of a new event file in {@code logDir}} The folder is created if missing; the file
     * is named after the system clock (UTC) and this host's name ({@code $HOSTNAME}, else the local host name).
     *
     * @param logDir the folder TensorBoard reads ({@code --logdir})
     * @throws IOException if the folder or the file cannot be created, or the first event cannot be written
     */
    public static TensorBoardWriter create(Path logDir) throws IOException {
        return create(logDir, Clock.systemUTC(), hostName());
    }

    /**
     * A new event file in {@code logDir} named after {@code clock}'s current second and {@code host}
     * (characters other than letters, digits, {@code .}, {@code -}, {@code _} become {@code _}); every
     * event's wall time is read from {@code clock}. The file holds the {@value #FILE_VERSION} event when this
     * returns.
     *
     * @param logDir the folder TensorBoard reads ({@code --logdir}), created if missing
     * @param clock the source of the file name's second and of every event's wall time
     * @param host the host part of the file name ("localhost" when empty)
     * @return the writer of the new file
     * @throws IOException if the folder or the file cannot be created (also when 1,000 suffixes are taken),
     *     or the first event cannot be written
     */
    public static TensorBoardWriter create(Path logDir, Clock clock, String host) throws IOException {
        Objects.requireNonNull(logDir, "logDir");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(host, "host");
        String safeHost = host.isEmpty() ? "localhost" : host.replaceAll("[^A-Za-z0-9._-]", "_");
        Files.createDirectories(logDir);
        Instant now = clock.instant();
        String base = String.format(Locale.ROOT, "events.out.tfevents.%010d.%s", now.getEpochSecond(), safeHost);
        for (int n = 0; ; n++) {
            Path f = logDir.resolve(n == 0 ? base : base + "." + n);
            try {
                OutputStream os = Files.newOutputStream(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                TensorBoardWriter w = new TensorBoardWriter(f, new java.io.BufferedOutputStream(os), clock);
                w.writeRecord(event(wallTime(now), 0, FILE_VERSION, null));
                w.out.flush();
                return w;
            } catch (FileAlreadyExistsException taken) {
                if (n > 1000) throw taken;
            }
        }
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) return env.trim();
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException | SecurityException e) {
            return "localhost";
        }
    }

    /** {@return the event file} */
    public Path file() { return file; }

    /**
     * Writes one event at {@code step} whose summary holds the given tag → value pairs (in map order,
     * stored as fp32). Buffered: {@link #flush()} or {@link #write} pushes it to the file.
     *
     * @param step the event's step
     * @param values tag → value, neither null
     * @throws IOException if the event cannot be written
     */
    public void writeScalars(long step, Map<String, Double> values) throws IOException {
        Objects.requireNonNull(values, "values");
        ByteArrayOutputStream summary = new ByteArrayOutputStream();
        for (Map.Entry<String, Double> e : values.entrySet()) {
            Objects.requireNonNull(e.getKey(), "tag");
            Objects.requireNonNull(e.getValue(), "value of " + e.getKey());
            ByteArrayOutputStream value = new ByteArrayOutputStream();
            bytesField(value, 1, e.getKey().getBytes(StandardCharsets.UTF_8));
            key(value, 2, 5);
            fixed32(value, Float.floatToRawIntBits(e.getValue().floatValue()));
            bytesField(summary, 1, value.toByteArray());
        }
        writeRecord(event(wallTime(clock.instant()), step, null, summary.toByteArray()));
    }

    @Override
    public void write(MonitoredStep step, List<String> tensorNames) throws IOException {
        StepObservation o = step.observation();
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("gradients/total_norm", o.totalNorm());
        putKnown(v, "gradients/total_norm_after", o.totalNormAfter());
        putKnown(v, "gradients/rolling_median", step.rolling().median());
        if (o.nonFiniteElements() >= 0) v.put("gradients/nonfinite_elements", (double) o.nonFiniteElements());
        if (o.hasThreshold()) v.put("clipping/threshold", o.threshold());
        putKnown(v, "clipping/scale", o.scale());
        putKnown(v, "clipping/clipped_fraction", o.clippedFraction());
        v.put("clipping/skipped", o.skipped() ? 1.0 : 0.0);
        for (Alert.Kind k : Alert.Kind.values()) {
            long n = step.alerts().stream().filter(a -> a.kind() == k).count();
            v.put("alerts/" + k.logName(), (double) n);
        }
        for (int i = 0; i < o.tensorCount(); i++) v.put("tensor_norm/" + tensorNames.get(i), o.tensorNorm(i));
        double[] after = o.tensorNormsAfter();
        for (int i = 0; i < after.length; i++) putKnown(v, "tensor_norm_after/" + tensorNames.get(i), after[i]);
        writeScalars(o.step(), v);
        out.flush();
    }

    private static void putKnown(Map<String, Double> v, String tag, double value) {
        if (!Double.isNaN(value)) v.put(tag, value);
    }

    @Override
    public void flush() throws IOException { out.flush(); }

    @Override
    public void close() throws IOException { out.close(); }

    @Override
    public String toString() { return "TensorBoardWriter(" + file + ")"; }

    private static double wallTime(Instant t) {
        return t.getEpochSecond() + t.getNano() / 1e9;
    }

    // ------------------------------------------------------------------ encoding

    /** One serialized Event: wall_time, step, then file_version or summary (whichever is not null). */
    static byte[] event(double wallTime, long step, @Nullable String fileVersion, byte @Nullable [] summary) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        key(b, 1, 1);
        fixed64(b, Double.doubleToRawLongBits(wallTime));
        key(b, 2, 0);
        varint(b, step);
        if (fileVersion != null) bytesField(b, 3, fileVersion.getBytes(StandardCharsets.UTF_8));
        if (summary != null) bytesField(b, 5, summary);
        return b.toByteArray();
    }

    private void writeRecord(byte[] data) throws IOException {
        out.write(record(data));
    }

    /** The TFRecord framing of {@code data}. */
    static byte[] record(byte[] data) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(data.length + 16);
        byte[] len = new byte[8];
        long n = data.length;
        for (int i = 0; i < 8; i++) len[i] = (byte) (n >>> (8 * i));
        b.writeBytes(len);
        fixed32(b, maskedCrc32c(len));
        b.writeBytes(data);
        fixed32(b, maskedCrc32c(data));
        return b.toByteArray();
    }

    /** CRC-32C of {@code data}, masked: ((crc >>> 15) | (crc << 17)) + 0xa282ead8. */
    static int maskedCrc32c(byte[] data) {
        CRC32C c = new CRC32C();
        c.update(data, 0, data.length);
        int crc = (int) c.getValue();
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }

    private static void key(ByteArrayOutputStream b, int field, int wireType) {
        varint(b, ((long) field << 3) | wireType);
    }

    private static void varint(ByteArrayOutputStream b, long v) {
        while ((v & ~0x7FL) != 0) {
            b.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        b.write((int) v);
    }

    private static void bytesField(ByteArrayOutputStream b, int field, byte[] bytes) {
        key(b, field, 2);
        varint(b, bytes.length);
        b.writeBytes(bytes);
    }

    private static void fixed32(ByteArrayOutputStream b, int v) {
        for (int i = 0; i < 4; i++) b.write((v >>> (8 * i)) & 0xFF);
    }

    private static void fixed64(ByteArrayOutputStream b, long v) {
        for (int i = 0; i < 8; i++) b.write((int) ((v >>> (8 * i)) & 0xFF));
    }
}
