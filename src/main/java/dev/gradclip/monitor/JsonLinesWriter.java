package dev.gradclip.monitor;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Writes each step as one JSON object on its own line (JSON lines), flushed per step so a crashed run
 * keeps its log. The fields, in this order:
 *
 * <table>
 *   <caption>log.jsonl fields</caption>
 *   <tr><th>field</th><th>value</th></tr>
 *   <tr><td>{@code step}</td><td>integer</td></tr>
 *   <tr><td>{@code file}</td><td>the step's source file, or null</td></tr>
 *   <tr><td>{@code total_norm}</td><td>pre-clip norm of all gradients together</td></tr>
 *   <tr><td>{@code threshold}</td><td>the step's threshold, null when none</td></tr>
 *   <tr><td>{@code scale}</td><td>the scale applied (1 when none)</td></tr>
 *   <tr><td>{@code clipped}</td><td>boolean: clipping changed an element</td></tr>
 *   <tr><td>{@code skipped}</td><td>boolean: the step was skipped, gradients untouched</td></tr>
 *   <tr><td>{@code found_inf}</td><td>boolean: a non-finite value was found</td></tr>
 *   <tr><td>{@code total_norm_after}</td><td>norm after clipping ("NaN" when not known)</td></tr>
 *   <tr><td>{@code clipped_fraction}</td><td>fraction of elements clipping changed ("NaN" when not known)</td></tr>
 *   <tr><td>{@code nonfinite_elements}</td><td>NaN/±∞ elements before clipping (−1: not counted)</td></tr>
 *   <tr><td>{@code rolling_median}, {@code rolling_mean}, {@code rolling_std}, {@code rolling_count}</td>
 *       <td>{@link RollingStats} after the step</td></tr>
 *   <tr><td>{@code alerts}</td><td>array of {@code {"kind", "tensor", "value", "reference", "message"}}
 *       ({@code kind}: exploding, vanishing, non_finite; {@code tensor}: a name or null for the total)</td></tr>
 *   <tr><td>{@code tensor_norms}, {@code tensor_norms_after}</td><td>objects name → norm, in the
 *       monitor's order ({@code {}} when not measured)</td></tr>
 * </table>
 *
 * The first eight are the fields {@code bin/gradclip replay} writes; this log is a superset of it,
 * and {@link MonitorLog} reads both. Non-finite numbers are the strings {@code "NaN"},
 * {@code "Infinity"}, {@code "-Infinity"} (JSON has no literals for them).
 */
public final class JsonLinesWriter implements StepSink {
    private final Path path;
    private final BufferedWriter out;

    private JsonLinesWriter(Path path, BufferedWriter out) {
        this.path = path;
        this.out = out;
    }

    /**
     * Creates (or truncates) {@code path}, creating its parent directories, and opens it for writing (UTF-8).
     *
     * @param path the file to write
     * @return the open writer; close it (or the monitor it is added to) to close the file
     * @throws IOException if the directories or the file cannot be created
     */
    public static JsonLinesWriter create(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        return new JsonLinesWriter(path, Files.newBufferedWriter(path, StandardCharsets.UTF_8));
    }

    /** {@return the file written} */
    public Path path() { return path; }

    @Override
    public void write(MonitoredStep step, List<String> tensorNames) throws IOException {
        out.write(line(step, tensorNames));
        out.write('\n');
        out.flush();
    }

    @Override
    public void flush() throws IOException { out.flush(); }

    @Override
    public void close() throws IOException { out.close(); }

    @Override
    public String toString() { return "JsonLinesWriter(" + path + ")"; }

    /**
     * {@return the JSON object of one step, on one line, without a line break}
     *
     * @param step the step as recorded
     * @param tensorNames the monitor's tensor names, at least as many as the step has per-tensor norms
     * @throws IndexOutOfBoundsException if the step has more per-tensor norms than there are names
     */
    public static String line(MonitoredStep step, List<String> tensorNames) {
        StepObservation o = step.observation();
        RollingStats r = step.rolling();
        StringBuilder b = new StringBuilder(256 + 40 * o.tensorCount());
        b.append("{\"step\":").append(o.step());
        b.append(",\"file\":");
        if (o.file() == null) b.append("null"); else JsonText.string(b, o.file());
        b.append(",\"total_norm\":");
        JsonText.number(b, o.totalNorm());
        b.append(",\"threshold\":");
        if (o.hasThreshold()) JsonText.number(b, o.threshold()); else b.append("null");
        b.append(",\"scale\":");
        JsonText.number(b, o.scale());
        b.append(",\"clipped\":").append(o.clipped());
        b.append(",\"skipped\":").append(o.skipped());
        b.append(",\"found_inf\":").append(o.foundInf());
        b.append(",\"total_norm_after\":");
        JsonText.number(b, o.totalNormAfter());
        b.append(",\"clipped_fraction\":");
        JsonText.number(b, o.clippedFraction());
        b.append(",\"nonfinite_elements\":").append(o.nonFiniteElements());
        b.append(",\"rolling_median\":");
        JsonText.number(b, r.median());
        b.append(",\"rolling_mean\":");
        JsonText.number(b, r.mean());
        b.append(",\"rolling_std\":");
        JsonText.number(b, r.std());
        b.append(",\"rolling_count\":").append(r.count());
        b.append(",\"alerts\":[");
        for (int i = 0; i < step.alerts().size(); i++) {
            Alert a = step.alerts().get(i);
            if (i > 0) b.append(',');
            b.append("{\"kind\":\"").append(a.kind().logName()).append("\",\"tensor\":");
            if (a.tensor() < 0) b.append("null"); else JsonText.string(b, a.tensorName());
            b.append(",\"value\":");
            JsonText.number(b, a.value());
            b.append(",\"reference\":");
            JsonText.number(b, a.reference());
            b.append(",\"message\":");
            JsonText.string(b, a.message());
            b.append('}');
        }
        b.append("],\"tensor_norms\":");
        normsObject(b, tensorNames, o.tensorNorms());
        b.append(",\"tensor_norms_after\":");
        normsObject(b, tensorNames, o.tensorNormsAfter());
        return b.append('}').toString();
    }

    private static void normsObject(StringBuilder b, List<String> names, double[] norms) {
        b.append('{');
        for (int i = 0; i < norms.length; i++) {
            if (i > 0) b.append(',');
            JsonText.string(b, names.get(i));
            b.append(':');
            JsonText.number(b, norms[i]);
        }
        b.append('}');
    }
}
