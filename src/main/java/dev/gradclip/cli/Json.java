package dev.gradclip.cli;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A minimal JSON writer (no parser) for the command line's stdout.
 *
 * <p>Values: {@code null}; {@link Boolean}; {@link String} and {@link Character}; integral numbers
 * ({@code Byte}, {@code Short}, {@code Integer}, {@code Long}, {@link BigInteger}) as integers;
 * {@code Double} and {@code Float} via {@link Double#toString(double)} (floats widened exactly to
 * double first), which round-trips; non-finite numbers as the strings {@code "NaN"},
 * {@code "Infinity"} and {@code "-Infinity"} (JSON has no literals for them); {@link Map}s with
 * {@code String} keys (iteration order kept) as objects; {@link Iterable}s, object arrays and
 * primitive arrays as arrays; enums by {@code name()}. Anything else is an
 * {@link IllegalArgumentException}. Output is compact, on one line.
 */
public final class Json {
    private Json() {
    }

    /** A JSON object under construction; keys keep insertion order. */
    public static final class Obj {
        private final Map<String, Object> fields = new LinkedHashMap<>();

        /** Adds a field; a key may be added only once. */
        public Obj put(String key, Object value) {
            if (key == null) {
                throw new IllegalArgumentException("JSON object keys must not be null");
            }
            if (fields.containsKey(key)) {
                throw new IllegalArgumentException("duplicate JSON key '" + key + "'");
            }
            fields.put(key, value);
            return this;
        }

        public Map<String, Object> fields() {
            return java.util.Collections.unmodifiableMap(fields);
        }

        @Override
        public String toString() {
            return write(fields);
        }
    }

    public static Obj object() {
        return new Obj();
    }

    /** The JSON text of {@code value}. */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        append(sb, value, 0);
        return sb.toString();
    }

    /** Appends the JSON text of {@code value} to {@code out}. */
    public static void write(Appendable out, Object value) throws IOException {
        out.append(write(value));
    }

    /** {@code s} as a JSON string literal, quotes included. */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2);
        appendString(sb, s);
        return sb.toString();
    }

    /** A double as JSON: the shortest round-tripping decimal, or a string for NaN and the infinities. */
    public static String number(double d) {
        if (Double.isNaN(d)) {
            return "\"NaN\"";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        }
        return Double.toString(d);
    }

    private static final int MAX_DEPTH = 256;

    private static void append(StringBuilder sb, Object v, int depth) {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("JSON value nested more than " + MAX_DEPTH + " deep (a cycle?)");
        }
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean) {
            sb.append(((Boolean) v).booleanValue() ? "true" : "false");
        } else if (v instanceof String) {
            appendString(sb, (String) v);
        } else if (v instanceof Character) {
            appendString(sb, v.toString());
        } else if (v instanceof Double || v instanceof Float) {
            sb.append(number(((Number) v).doubleValue()));
        } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
                || v instanceof BigInteger) {
            sb.append(v.toString());
        } else if (v instanceof BigDecimal) {
            sb.append(((BigDecimal) v).toString());
        } else if (v instanceof Number) {
            sb.append(number(((Number) v).doubleValue()));
        } else if (v instanceof Obj) {
            append(sb, ((Obj) v).fields, depth);
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!(e.getKey() instanceof String)) {
                    throw new IllegalArgumentException("JSON object keys must be strings, got " + e.getKey());
                }
                if (!first) {
                    sb.append(',');
                }
                first = false;
                appendString(sb, (String) e.getKey());
                sb.append(':');
                append(sb, e.getValue(), depth + 1);
            }
            sb.append('}');
        } else if (v instanceof Iterable) {
            sb.append('[');
            boolean first = true;
            for (Object item : (Iterable<?>) v) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                append(sb, item, depth + 1);
            }
            sb.append(']');
        } else if (v.getClass().isArray()) {
            sb.append('[');
            int n = java.lang.reflect.Array.getLength(v);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                append(sb, java.lang.reflect.Array.get(v, i), depth + 1);
            }
            sb.append(']');
        } else if (v instanceof Enum) {
            appendString(sb, ((Enum<?>) v).name());
        } else {
            throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON");
        }
    }

    private static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                case '\b':
                    sb.append("\\b");
                    break;
                case '\f':
                    sb.append("\\f");
                    break;
                default:
                    if (c < 0x20 || c == 0x7F || c == '\u2028' || c == '\u2029') {
                        appendUnicodeEscape(sb, c);
                    } else if (Character.isSurrogate(c)) {
                        // a well-formed pair is copied; a lone surrogate is escaped (it has no UTF-8 form)
                        if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                            sb.append(c).append(s.charAt(++i));
                        } else {
                            appendUnicodeEscape(sb, c);
                        }
                    } else {
                        sb.append(c);
                    }
                    break;
            }
        }
        sb.append('"');
    }

    private static void appendUnicodeEscape(StringBuilder sb, char c) {
        sb.append("\\u");
        String hex = Integer.toHexString(c);
        for (int k = hex.length(); k < 4; k++) {
            sb.append('0');
        }
        sb.append(hex);
    }
}
