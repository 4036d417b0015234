package dev.gradclip.monitor;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Writes each step as one CSV row (RFC 4180: comma separated, {@code \n} line ends, a field quoted
 * with doubled quotes when it holds a comma, quote or line break), flushed per step. Header:
 *
 * <pre>
 * step,file,total_norm,threshold,scale,clipped,skipped,found_inf,total_norm_after,clipped_fraction,
 * nonfinite_elements,rolling_median,rolling_mean,rolling_std,alerts,norm:NAME...,norm_after:NAME...
 * </pre>
 *
 * (one {@code norm:} and one {@code norm_after:} column per tensor). Numbers in Java's shortest
 * round-trip form, non-finite ones as {@code NaN}, {@code inf}, {@code -inf} (what NumPy and pandas
 * read); an empty field for no threshold, no file, or an unknown per-tensor norm; booleans as
 * {@code true}/{@code false}; {@code alerts} as {@code kind} or {@code kind:tensor} items separated by
 * {@code ;}.
 */
public final class CsvWriter implements StepSink {
    private final Path path;
    private final BufferedWriter out;
    private boolean headerWritten;

    private CsvWriter(Path path, BufferedWriter out) {
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
    public static CsvWriter create(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        return new CsvWriter(path, Files.newBufferedWriter(path, StandardCharsets.UTF_8));
    }

    /** {@return the file written} */
    public Path path() { return path; }

    /**
     * {@return the header row for these tensors, without a line break}
     *
     * @param tensorNames the tensor names, in the monitor's order
     */
    public static String header(List<String> tensorNames) {
        StringBuilder b = new StringBuilder("step,file,total_norm,threshold,scale,clipped,skipped,found_inf,"
                + "total_norm_after,clipped_fraction,nonfinite_elements,rolling_median,rolling_mean,rolling_std,alerts");
        for (String n : tensorNames) b.append(',').append(field("norm:" + n));
        for (String n : tensorNames) b.append(',').append(field("norm_after:" + n));
        return b.toString();
    }

    /**
     * {@return one step's row, without a line break}
     *
     * @param step the step as recorded
     * @param tensorNames the tensor names of the header, in the monitor's order
     */
    public static String row(MonitoredStep step, List<String> tensorNames) {
        StepObservation o = step.observation();
        StringBuilder b = new StringBuilder();
        b.append(o.step()).append(',');
        b.append(o.file() == null ? "" : field(o.file())).append(',');
        b.append(num(o.totalNorm())).append(',');
        b.append(o.hasThreshold() ? num(o.threshold()) : "").append(',');
        b.append(num(o.scale())).append(',');
        b.append(o.clipped()).append(',').append(o.skipped()).append(',').append(o.foundInf()).append(',');
        b.append(num(o.totalNormAfter())).append(',');
        b.append(num(o.clippedFraction())).append(',');
        b.append(o.nonFiniteElements()).append(',');
        b.append(num(step.rolling().median())).append(',');
        b.append(num(step.rolling().mean())).append(',');
        b.append(num(step.rolling().std())).append(',');
        StringBuilder alerts = new StringBuilder();
        for (Alert a : step.alerts()) {
            if (alerts.length() > 0) alerts.append(';');
            alerts.append(a.kind().logName());
            if (a.tensor() >= 0) alerts.append(':').append(a.tensorName());
        }
        b.append(field(alerts.toString()));
        for (int i = 0; i < tensorNames.size(); i++) {
            b.append(',');
            if (i < o.tensorCount()) b.append(num(o.tensorNorm(i)));
        }
        double[] after = o.tensorNormsAfter();
        for (int i = 0; i < tensorNames.size(); i++) {
            b.append(',');
            if (i < after.length) b.append(num(after[i]));
        }
        return b.toString();
    }

    @Override
    public void write(MonitoredStep step, List<String> tensorNames) throws IOException {
        if (!headerWritten) {
            out.write(header(tensorNames));
            out.write('\n');
            headerWritten = true;
        }
        out.write(row(step, tensorNames));
        out.write('\n');
        out.flush();
    }

    @Override
    public void flush() throws IOException { out.flush(); }

    @Override
    public void close() throws IOException { out.close(); }

    @Override
    public String toString() { return "CsvWriter(" + path + ")"; }

    static String num(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        return Double.toString(v);
    }

    static String field(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
