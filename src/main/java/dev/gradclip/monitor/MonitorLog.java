package dev.gradclip.monitor;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A JSON-lines log read back: what {@link JsonLinesWriter} writes and what {@code bin/gradclip
 * replay} writes (a subset). Immutable.
 *
 * <h2>What is read</h2>
 * One JSON object per non-blank line (UTF-8). Required: {@code step} (an integer) and
 * {@code total_norm} (a number, or the string {@code "NaN"}, {@code "Infinity"} or
 * {@code "-Infinity"}). Optional, with their defaults: {@code file} (string or null),
 * {@code threshold} (number or null = none), {@code scale} (NaN), {@code clipped}, {@code skipped},
 * {@code found_inf} (booleans, false), {@code total_norm_after} and {@code clipped_fraction} (NaN =
 * not known), {@code nonfinite_elements} (integer, −1 = not counted), {@code tensor_norms} and
 * {@code tensor_norms_after} (objects name → number), {@code alerts} (array of objects with
 * {@code kind}, {@code tensor}, {@code value}, {@code reference}, {@code message}). Other fields are
 * ignored. A field of the wrong type, malformed JSON, a non-object line or a log without steps is a
 * {@link LogFormatException} naming the line.
 *
 * <p>Tensor names: the union, in order of first appearance, of the names in every line's
 * {@code tensor_norms}; a step lacking a tensor has NaN there.
 */
public final class MonitorLog {
    private final String source;
    private final List<StepObservation> steps;
    private final List<String> tensorNames;
    private final List<List<Alert>> alerts;

    private MonitorLog(String source, List<StepObservation> steps, List<String> tensorNames, List<List<Alert>> alerts) {
        this.source = source;
        this.steps = List.copyOf(steps);
        this.tensorNames = List.copyOf(tensorNames);
        List<List<Alert>> a = new ArrayList<>();
        for (List<Alert> l : alerts) a.add(List.copyOf(l));
        this.alerts = Collections.unmodifiableList(a);
    }

    /**
     * Reads {@code path}.
     *
     * @param path a log file (JSON lines, UTF-8)
     * @return the log
     * @throws NoSuchFileException if it does not exist
     * @throws LogFormatException if it is not a regular file, not UTF-8, or not a log (see above)
     * @throws IOException if it cannot be read
     */
    public static MonitorLog read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file");
        if (!Files.isRegularFile(path)) throw new LogFormatException(path + " is not a regular file");
        byte[] bytes = Files.readAllBytes(path);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new LogFormatException(path + " is not UTF-8 text");
        }
        return parse(text, path.toString());
    }

    /**
     * Parses log text.
     *
     * @param text the whole log, lines separated by {@code \n} (a trailing {@code \r} is dropped)
     * @param source what the text is (a path), naming it in messages and {@link #source()}
     * @return the log
     * @throws LogFormatException if the text is not a log (see the class comment), naming the line
     */
    public static MonitorLog parse(String text, String source) throws LogFormatException {
        Objects.requireNonNull(text, "text");
        List<StepObservation> steps = new ArrayList<>();
        List<Map<String, Double>> before = new ArrayList<>();
        List<Map<String, Double>> after = new ArrayList<>();
        List<Map<String, Object>> lines = new ArrayList<>();
        List<Integer> lineNumbers = new ArrayList<>();
        LinkedHashMap<String, Integer> names = new LinkedHashMap<>();
        String[] rows = text.split("\n", -1);
        for (int i = 0; i < rows.length; i++) {
            String row = rows[i].endsWith("\r") ? rows[i].substring(0, rows[i].length() - 1) : rows[i];
            if (row.isBlank()) continue;
            String where = source + " line " + (i + 1);
            Object v;
            try {
                v = JsonText.parse(row);
            } catch (JsonText.SyntaxException e) {
                throw new LogFormatException(where + ": malformed JSON: " + e.getMessage());
            }
            if (!(v instanceof Map<?, ?>)) throw new LogFormatException(where + ": expected a JSON object per line");
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) v;
            Map<String, Double> b = norms(m, "tensor_norms", where);
            for (String n : b.keySet()) names.putIfAbsent(n, names.size());
            before.add(b);
            after.add(norms(m, "tensor_norms_after", where));
            lines.add(m);
            lineNumbers.add(i + 1);
        }
        if (lines.isEmpty()) throw new LogFormatException(source + " holds no steps (no JSON lines)");
        List<String> tensorNames = new ArrayList<>(names.keySet());
        List<List<Alert>> alerts = new ArrayList<>();
        for (int k = 0; k < lines.size(); k++) {
            Map<String, Object> m = lines.get(k);
            String where = source + " line " + lineNumbers.get(k);
            try {
                long step = integer(m, "step", where, null);
                StepObservation.Builder o = StepObservation.builder(step, number(m, "total_norm", where, null))
                        .file(string(m, "file", where))
                        .threshold(number(m, "threshold", where, Double.NaN))
                        .scale(number(m, "scale", where, Double.NaN))
                        .clipped(bool(m, "clipped", where))
                        .skipped(bool(m, "skipped", where))
                        .foundInf(bool(m, "found_inf", where))
                        .clippedFraction(number(m, "clipped_fraction", where, Double.NaN))
                        .nonFiniteElements(integer(m, "nonfinite_elements", where, -1L));
                if (!names.isEmpty()) o.tensorNorms(aligned(before.get(k), tensorNames));
                double totalAfter = number(m, "total_norm_after", where, Double.NaN);
                Map<String, Double> a = after.get(k);
                for (String n : a.keySet()) {
                    if (!names.containsKey(n)) {
                        throw new LogFormatException(where + ": tensor_norms_after names '" + n
                                + "', which no tensor_norms has");
                    }
                }
                o.after(totalAfter, a.isEmpty() ? new double[0] : aligned(a, tensorNames));
                steps.add(o.build());
                alerts.add(alerts(m, step, tensorNames, where));
            } catch (IllegalArgumentException e) {
                throw new LogFormatException(where + ": " + e.getMessage());
            }
        }
        return new MonitorLog(source, steps, tensorNames, alerts);
    }

    /** {@return where it was read from: the path, or the source given to {@link #parse}} */
    public String source() { return source; }

    /** {@return every step, in line order (unmodifiable; at least one)} */
    public List<StepObservation> steps() { return steps; }

    /** {@return the union of the tensor names of every line, in order of first appearance (empty when none)} */
    public List<String> tensorNames() { return tensorNames; }

    /**
     * {@return the alerts recorded at step index {@code i} (unmodifiable; empty when none)}
     *
     * @param i the step's position in {@link #steps()}
     * @throws IndexOutOfBoundsException if {@code i} is outside {@code [0, steps().size())}
     */
    public List<Alert> alertsAt(int i) { return alerts.get(i); }

    /** {@return every recorded alert, in line order (unmodifiable)} */
    public List<Alert> alerts() {
        List<Alert> all = new ArrayList<>();
        for (List<Alert> l : alerts) all.addAll(l);
        return Collections.unmodifiableList(all);
    }

    private static double[] aligned(Map<String, Double> byName, List<String> names) {
        double[] out = new double[names.size()];
        for (int i = 0; i < out.length; i++) {
            Double v = byName.get(names.get(i));
            out[i] = v == null ? Double.NaN : v;
        }
        return out;
    }

    private static Map<String, Double> norms(Map<String, Object> m, String key, String where) throws LogFormatException {
        Object v = m.get(key);
        Map<String, Double> out = new LinkedHashMap<>();
        if (v == null || v == JsonText.NULL) return out;
        if (!(v instanceof Map<?, ?> obj)) throw new LogFormatException(where + ": " + key + " must be an object name -> norm");
        for (Map.Entry<?, ?> e : obj.entrySet()) {
            double d = toNumber(e.getValue(), where, key + "." + e.getKey());
            if (d < 0) throw new LogFormatException(where + ": " + key + "." + e.getKey() + " is negative");
            out.put((String) e.getKey(), d);
        }
        return out;
    }

    private static List<Alert> alerts(Map<String, Object> m, long step, List<String> names, String where)
            throws LogFormatException {
        Object v = m.get("alerts");
        if (v == null || v == JsonText.NULL) return List.of();
        if (!(v instanceof List<?> list)) throw new LogFormatException(where + ": alerts must be an array");
        List<Alert> out = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?>)) throw new LogFormatException(where + ": each alert must be an object");
            @SuppressWarnings("unchecked")
            Map<String, Object> a = (Map<String, Object>) item;
            Object kind = a.get("kind");
            if (!(kind instanceof String k)) throw new LogFormatException(where + ": an alert has no string 'kind'");
            Alert.Kind parsed;
            try {
                parsed = Alert.Kind.ofLogName(k);
            } catch (IllegalArgumentException e) {
                throw new LogFormatException(where + ": " + e.getMessage());
            }
            String tensor = string(a, "tensor", where);
            int index = tensor == null ? -1 : names.indexOf(tensor);
            String message = string(a, "message", where);
            out.add(new Alert(parsed, step, index, tensor == null ? "total" : tensor,
                    number(a, "value", where, Double.NaN), number(a, "reference", where, Double.NaN),
                    message == null ? "" : message));
        }
        return out;
    }

    private static @Nullable String string(Map<String, Object> m, String key, String where) throws LogFormatException {
        Object v = m.get(key);
        if (v == null || v == JsonText.NULL) return null;
        if (v instanceof String s) return s;
        throw new LogFormatException(where + ": " + key + " must be a string or null");
    }

    private static boolean bool(Map<String, Object> m, String key, String where) throws LogFormatException {
        Object v = m.get(key);
        if (v == null || v == JsonText.NULL) return false;
        if (v instanceof Boolean b) return b;
        throw new LogFormatException(where + ": " + key + " must be true or false, got " + v);
    }

    private static long integer(Map<String, Object> m, String key, String where, @Nullable Long absent) throws LogFormatException {
        Object v = m.get(key);
        if (v == null || v == JsonText.NULL) {
            if (absent == null) throw new LogFormatException(where + ": missing required field '" + key + "'");
            return absent;
        }
        if (v instanceof Long l) return l;
        throw new LogFormatException(where + ": " + key + " must be an integer, got " + v);
    }

    /** A number, or "NaN"/"Infinity"/"-Infinity"; absent or null gives {@code absent} (null: required). */
    private static double number(Map<String, Object> m, String key, String where, @Nullable Double absent) throws LogFormatException {
        Object v = m.get(key);
        if (v == null || v == JsonText.NULL) {
            if (absent == null) throw new LogFormatException(where + ": missing required field '" + key + "'");
            return absent;
        }
        return toNumber(v, where, key);
    }

    private static double toNumber(Object v, String where, String key) throws LogFormatException {
        if (v instanceof Long l) return l;
        if (v instanceof Double d) return d;
        if (v instanceof String s) {
            switch (s) {
                case "NaN": return Double.NaN;
                case "Infinity": return Double.POSITIVE_INFINITY;
                case "-Infinity": return Double.NEGATIVE_INFINITY;
                default: break;
            }
        }
        throw new LogFormatException(where + ": " + key + " must be a number (or \"NaN\", \"Infinity\", \"-Infinity\"), got "
                + (v instanceof String ? "\"" + v + "\"" : v));
    }
}
