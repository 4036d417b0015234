package dev.gradclip.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The monitor's own small JSON writer and strict parser (RFC 8259; the core jar takes no
 * dependencies). Parsed values: {@link Map} (insertion order, duplicate keys rejected), {@link List},
 * {@link String}, {@link Long} (integers without fraction or exponent that fit), {@link Double} (other
 * numbers), {@link Boolean}, and {@link #NULL}. Non-finite numbers are written as the strings
 * {@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"}, as the command line does.
 */
final class JsonText {
    private JsonText() { }

    /** JSON null, as parsed. */
    static final Object NULL = new Object() {
        @Override
        public String toString() { return "null"; }
    };

    private static final int MAX_DEPTH = 64;

    // ---------------------------------------------------------------- writing

    static void number(StringBuilder b, double v) {
        if (Double.isNaN(v)) b.append("\"NaN\"");
        else if (v == Double.POSITIVE_INFINITY) b.append("\"Infinity\"");
        else if (v == Double.NEGATIVE_INFINITY) b.append("\"-Infinity\"");
        else if (v == Math.rint(v) && Math.abs(v) < 1e15 && !(v == 0 && 1 / v < 0)) b.append((long) v).append(".0");
        else b.append(Double.toString(v));
    }

    static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }

    // ---------------------------------------------------------------- parsing

    /** A syntax error at a character offset. */
    static final class SyntaxException extends Exception {
        private static final long serialVersionUID = 1L;

        SyntaxException(String message, int offset) {
            super(message + " at character " + (offset + 1));
        }
    }

    /** Parses one complete JSON value (whitespace around it allowed, nothing else). */
    static Object parse(String text) throws SyntaxException {
        Parser p = new Parser(text);
        p.ws();
        Object v = p.value(0);
        p.ws();
        if (p.pos != text.length()) throw new SyntaxException("unexpected text after the JSON value", p.pos);
        return v;
    }

    private static final class Parser {
        final String s;
        int pos;

        Parser(String s) { this.s = s; }

        void ws() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++; else break;
            }
        }

        Object value(int depth) throws SyntaxException {
            if (depth > MAX_DEPTH) throw new SyntaxException("nested deeper than " + MAX_DEPTH, pos);
            if (pos >= s.length()) throw new SyntaxException("unexpected end of input", pos);
            char c = s.charAt(pos);
            switch (c) {
                case '{': return object(depth);
                case '[': return array(depth);
                case '"': return string();
                case 't': literal("true"); return Boolean.TRUE;
                case 'f': literal("false"); return Boolean.FALSE;
                case 'n': literal("null"); return NULL;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw new SyntaxException("unexpected character '" + c + "'", pos);
            }
        }

        void literal(String word) throws SyntaxException {
            if (!s.startsWith(word, pos)) throw new SyntaxException("expected '" + word + "'", pos);
            pos += word.length();
        }

        Map<String, Object> object(int depth) throws SyntaxException {
            pos++;
            Map<String, Object> m = new LinkedHashMap<>();
            ws();
            if (pos < s.length() && s.charAt(pos) == '}') { pos++; return m; }
            while (true) {
                ws();
                if (pos >= s.length() || s.charAt(pos) != '"') throw new SyntaxException("expected a string key", pos);
                int keyAt = pos;
                String key = string();
                ws();
                expect(':');
                ws();
                Object v = value(depth + 1);
                if (m.containsKey(key)) throw new SyntaxException("duplicate key '" + key + "'", keyAt);
                m.put(key, v);
                ws();
                if (pos < s.length() && s.charAt(pos) == ',') { pos++; continue; }
                expect('}');
                return m;
            }
        }

        List<Object> array(int depth) throws SyntaxException {
            pos++;
            List<Object> list = new ArrayList<>();
            ws();
            if (pos < s.length() && s.charAt(pos) == ']') { pos++; return list; }
            while (true) {
                ws();
                list.add(value(depth + 1));
                ws();
                if (pos < s.length() && s.charAt(pos) == ',') { pos++; continue; }
                expect(']');
                return list;
            }
        }

        void expect(char c) throws SyntaxException {
            if (pos >= s.length() || s.charAt(pos) != c) {
                throw new SyntaxException(pos >= s.length() ? "unexpected end of input, expected '" + c + "'"
                        : "expected '" + c + "', found '" + s.charAt(pos) + "'", pos);
            }
            pos++;
        }

        String string() throws SyntaxException {
            int start = pos;
            pos++;
            StringBuilder b = new StringBuilder();
            while (true) {
                if (pos >= s.length()) throw new SyntaxException("unterminated string", start);
                char c = s.charAt(pos++);
                if (c == '"') return b.toString();
                if (c < 0x20) throw new SyntaxException("control character in a string", pos - 1);
                if (c != '\\') { b.append(c); continue; }
                if (pos >= s.length()) throw new SyntaxException("unterminated escape", pos);
                char e = s.charAt(pos++);
                switch (e) {
                    case '"' -> b.append('"');
                    case '\\' -> b.append('\\');
                    case '/' -> b.append('/');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (pos + 4 > s.length()) throw new SyntaxException("truncated \\u escape", pos);
                        int v = 0;
                        for (int i = 0; i < 4; i++) {
                            int d = Character.digit(s.charAt(pos + i), 16);
                            if (d < 0) throw new SyntaxException("bad \\u escape", pos);
                            v = v * 16 + d;
                        }
                        pos += 4;
                        b.append((char) v);
                    }
                    default -> throw new SyntaxException("bad escape '\\" + e + "'", pos - 1);
                }
            }
        }

        Object number() throws SyntaxException {
            int start = pos;
            if (s.charAt(pos) == '-') pos++;
            if (pos >= s.length()) throw new SyntaxException("truncated number", start);
            if (s.charAt(pos) == '0') {
                pos++;
            } else if (s.charAt(pos) >= '1' && s.charAt(pos) <= '9') {
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
            } else {
                throw new SyntaxException("bad number", start);
            }
            boolean integral = true;
            if (pos < s.length() && s.charAt(pos) == '.') {
                integral = false;
                pos++;
                int d = pos;
                while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') pos++;
                if (pos == d) throw new SyntaxException("bad number (no digit after '.')", start);
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                integral = false;
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) pos++;
                int d = pos;
                while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') pos++;
                if (pos == d) throw new SyntaxException("bad number (no exponent digits)", start);
            }
            String t = s.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(t);
                } catch (NumberFormatException tooBig) {
                    return Double.parseDouble(t);
                }
            }
            return Double.parseDouble(t);
        }
    }
}
