package dev.gradclip.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The small JSON dialect of the policy checkpoints (package-private; the core jar has no dependencies).
 * Numbers are written with {@link Double#toString(double)} (or {@link Long#toString(long)}), which
 * {@link Double#parseDouble} reads back to the same bits; NaN and ±∞ are written as the strings
 * {@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"}. Objects keep their key order.
 */
final class StateJson {
    private StateJson() {
    }

    // ------------------------------------------------------------------ writing

    static String write(Map<String, ? extends @Nullable Object> object) {
        StringBuilder sb = new StringBuilder();
        writeValue(sb, object);
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    private static void writeValue(StringBuilder sb, @Nullable Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, @Nullable Object> e : ((Map<String, @Nullable Object>) v).entrySet()) {
                if (!first) sb.append(',');
                first = false;
                writeString(sb, e.getKey());
                sb.append(':');
                writeValue(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof double[]) {
            sb.append('[');
            double[] a = (double[]) v;
            for (int i = 0; i < a.length; i++) {
                if (i > 0) sb.append(',');
                writeDouble(sb, a[i]);
            }
            sb.append(']');
        } else if (v instanceof Double) {
            writeDouble(sb, (Double) v);
        } else if (v instanceof Long || v instanceof Integer) {
            sb.append(v);
        } else if (v instanceof Boolean) {
            sb.append(v);
        } else if (v instanceof String) {
            writeString(sb, (String) v);
        } else {
            throw new IllegalArgumentException("cannot write " + v.getClass());
        }
    }

    private static void writeDouble(StringBuilder sb, double d) {
        if (Double.isNaN(d)) {
            sb.append("\"NaN\"");
        } else if (Double.isInfinite(d)) {
            sb.append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        } else {
            sb.append(Double.toString(d));
        }
    }

    private static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }

    // ------------------------------------------------------------------ reading

    /** Parses one JSON object; numbers come back as {@link String}-free {@link Double} or {@link Long}. */
    @SuppressWarnings("unchecked")
    static Map<String, @Nullable Object> parseObject(String text) {
        if (text == null) throw new IllegalArgumentException("policy state text is null");
        Parser p = new Parser(text);
        p.skipWs();
        Object v = p.value();
        p.skipWs();
        if (p.pos != text.length()) throw p.error("trailing characters");
        if (!(v instanceof Map)) throw new IllegalArgumentException("policy state is not a JSON object");
        return (Map<String, @Nullable Object>) v;
    }

    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException("malformed policy state JSON at offset " + pos + ": " + what);
        }

        void skipWs() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++;
        }

        @Nullable Object value() {
            if (pos >= s.length()) throw error("unexpected end");
            char c = s.charAt(pos);
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return string();
            if (s.startsWith("true", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("false", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            if (s.startsWith("null", pos)) {
                pos += 4;
                return null;
            }
            return number();
        }

        Map<String, @Nullable Object> object() {
            Map<String, @Nullable Object> m = new LinkedHashMap<>();
            pos++;
            skipWs();
            if (pos < s.length() && s.charAt(pos) == '}') {
                pos++;
                return m;
            }
            while (true) {
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != '"') throw error("expected a key");
                String key = string();
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != ':') throw error("expected ':'");
                pos++;
                skipWs();
                if (m.containsKey(key)) throw error("duplicate key " + key);
                m.put(key, value());
                skipWs();
                if (pos >= s.length()) throw error("unexpected end");
                char c = s.charAt(pos++);
                if (c == '}') return m;
                if (c != ',') throw error("expected ',' or '}'");
            }
        }

        List<@Nullable Object> array() {
            List<@Nullable Object> a = new ArrayList<>();
            pos++;
            skipWs();
            if (pos < s.length() && s.charAt(pos) == ']') {
                pos++;
                return a;
            }
            while (true) {
                skipWs();
                a.add(value());
                skipWs();
                if (pos >= s.length()) throw error("unexpected end");
                char c = s.charAt(pos++);
                if (c == ']') return a;
                if (c != ',') throw error("expected ',' or ']'");
            }
        }

        String string() {
            StringBuilder sb = new StringBuilder();
            pos++;
            while (true) {
                if (pos >= s.length()) throw error("unterminated string");
                char c = s.charAt(pos++);
                if (c == '"') return sb.toString();
                if (c == '\\') {
                    if (pos >= s.length()) throw error("unterminated escape");
                    char e = s.charAt(pos++);
                    switch (e) {
                        case '"': case '\\': case '/': sb.append(e); break;
                        case 'n': sb.append('\n'); break;
                        case 't': sb.append('\t'); break;
                        case 'r': sb.append('\r'); break;
                        case 'b': sb.append('\b'); break;
                        case 'f': sb.append('\f'); break;
                        case 'u':
                            if (pos + 4 > s.length()) throw error("short \\u escape");
                            try {
                                sb.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                            } catch (NumberFormatException ex) {
                                throw error("bad \\u escape");
                            }
                            pos += 4;
                            break;
                        default: throw error("bad escape \\" + e);
                    }
                } else {
                    sb.append(c);
                }
            }
        }

        Object number() {
            int start = pos;
            while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) pos++;
            String t = s.substring(start, pos);
            if (t.isEmpty()) throw error("unexpected character '" + s.charAt(pos) + "'");
            try {
                if (t.matches("-?\\d+")) return Long.parseLong(t);
                if (!t.matches("-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?")) throw error("bad number " + t);
                return Double.parseDouble(t);
            } catch (NumberFormatException e) {
                throw error("bad number " + t);
            }
        }
    }

    // ------------------------------------------------------------------ typed access

    static @Nullable Object field(Map<String, ? extends @Nullable Object> m, String key) {
        if (!m.containsKey(key)) throw new IllegalArgumentException("policy state has no field '" + key + "'");
        return m.get(key);
    }

    static double toDouble(@Nullable Object v, String key) {
        if (v instanceof Double) return (Double) v;
        if (v instanceof Long) {
            long l = (Long) v;
            double d = l;
            if ((long) d != l) throw new IllegalArgumentException("field '" + key + "': " + l + " is not exact as a double");
            return d;
        }
        if ("NaN".equals(v)) return Double.NaN;
        if ("Infinity".equals(v)) return Double.POSITIVE_INFINITY;
        if ("-Infinity".equals(v)) return Double.NEGATIVE_INFINITY;
        throw new IllegalArgumentException("field '" + key + "' is not a number: " + v);
    }

    static double getDouble(Map<String, ? extends @Nullable Object> m, String key) {
        return toDouble(field(m, key), key);
    }

    static long getLong(Map<String, ? extends @Nullable Object> m, String key) {
        Object v = field(m, key);
        if (v instanceof Long) return (Long) v;
        throw new IllegalArgumentException("field '" + key + "' is not an integer: " + v);
    }

    /** An integer field that must fit an {@code int}; {@link IllegalArgumentException} naming the field otherwise. */
    static int getInt(Map<String, ? extends @Nullable Object> m, String key) {
        long v = getLong(m, key);
        if (v != (int) v) throw new IllegalArgumentException("field '" + key + "': " + v + " does not fit an int");
        return (int) v;
    }

    static boolean getBoolean(Map<String, ? extends @Nullable Object> m, String key) {
        Object v = field(m, key);
        if (v instanceof Boolean) return (Boolean) v;
        throw new IllegalArgumentException("field '" + key + "' is not a boolean: " + v);
    }

    static String getString(Map<String, ? extends @Nullable Object> m, String key) {
        Object v = field(m, key);
        if (v instanceof String) return (String) v;
        throw new IllegalArgumentException("field '" + key + "' is not a string: " + v);
    }

    static double[] getDoubles(Map<String, ? extends @Nullable Object> m, String key) {
        Object v = field(m, key);
        if (!(v instanceof List)) throw new IllegalArgumentException("field '" + key + "' is not an array");
        List<?> l = (List<?>) v;
        double[] out = new double[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = toDouble(l.get(i), key + "[" + i + "]");
        return out;
    }
}
