package dev.gradclip.cli.npz;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parser for the small subset of Python literals that .npy headers use: dicts, tuples, lists,
 * strings, integers, {@code True}, {@code False} and {@code None}. Tuples and lists become
 * {@link List}s (tuples are wrapped in {@link Tuple} so the two can be told apart), integers
 * {@link Long}s (Python 2's {@code 3L} suffix accepted), dicts {@link LinkedHashMap}s.
 */
final class PyLiteral {
    /** A parsed Python tuple. */
    static final class Tuple {
        final List<Object> items;

        Tuple(List<Object> items) {
            this.items = items;
        }
    }

    /** Thrown for text that is not a supported literal; the message says where and why. */
    static final class ParseException extends Exception {
        private static final long serialVersionUID = 1L;

        ParseException(String message) {
            super(message);
        }
    }

    private static final int MAX_DEPTH = 32;

    /**
     * Python's {@code repr} of a parsed value: {@code [('x', '<f4'), ('y', '<i4')]} for a structured
     * descr, so messages show the header's own text rather than Java object identities.
     */
    static String repr(Object v) {
        StringBuilder sb = new StringBuilder();
        repr(v, sb);
        return sb.toString();
    }

    private static void repr(Object v, StringBuilder sb) {
        if (v == null) {
            sb.append("None");
        } else if (v instanceof Boolean) {
            sb.append((Boolean) v ? "True" : "False");
        } else if (v instanceof String) {
            String str = (String) v;
            sb.append('\'');
            for (int i = 0; i < str.length(); i++) {
                char c = str.charAt(i);
                switch (c) {
                    case '\\': sb.append("\\\\"); break;
                    case '\'': sb.append("\\'"); break;
                    case '\n': sb.append("\\n"); break;
                    case '\t': sb.append("\\t"); break;
                    case '\r': sb.append("\\r"); break;
                    default:
                        if (c < 0x20 || c == 0x7f) {
                            sb.append(String.format("\\x%02x", (int) c));
                        } else {
                            sb.append(c);
                        }
                }
            }
            sb.append('\'');
        } else if (v instanceof Tuple) {
            List<Object> items = ((Tuple) v).items;
            sb.append('(');
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(items.get(i), sb);
            }
            sb.append(items.size() == 1 ? ",)" : ")");
        } else if (v instanceof List) {
            List<?> items = (List<?>) v;
            sb.append('[');
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(items.get(i), sb);
            }
            sb.append(']');
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(e.getKey(), sb);
                sb.append(": ");
                repr(e.getValue(), sb);
            }
            sb.append('}');
        } else {
            sb.append(v); // Long
        }
    }

    private final String s;
    private int pos;

    private PyLiteral(String s) {
        this.s = s;
    }

    static Object parse(String text) throws ParseException {
        PyLiteral p = new PyLiteral(text);
        p.skipSpace();
        Object v = p.value(0);
        p.skipSpace();
        if (p.pos != p.s.length()) {
            throw p.error("unexpected text after the literal");
        }
        return v;
    }

    private Object value(int depth) throws ParseException {
        if (depth > MAX_DEPTH) {
            throw error("nested too deeply");
        }
        if (pos >= s.length()) {
            throw error("unexpected end");
        }
        char c = s.charAt(pos);
        switch (c) {
            case '{':
                return dict(depth);
            case '(':
                return new Tuple(sequence('(', ')', depth, true));
            case '[':
                return sequence('[', ']', depth, false);
            case '\'':
            case '"':
                return string();
            default:
                if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
                    return integer();
                }
                if (Character.isLetter(c) || c == '_') {
                    return name();
                }
                throw error("unexpected character '" + c + "'");
        }
    }

    private Map<Object, Object> dict(int depth) throws ParseException {
        expect('{');
        Map<Object, Object> map = new LinkedHashMap<>();
        skipSpace();
        while (!peek('}')) {
            Object key = value(depth + 1);
            if (!(key instanceof String)) {
                throw error("dict keys must be strings");
            }
            skipSpace();
            expect(':');
            skipSpace();
            Object v = value(depth + 1);
            if (map.containsKey(key)) {
                throw error("duplicate key '" + key + "'");
            }
            map.put(key, v);
            skipSpace();
            if (peek(',')) {
                pos++;
                skipSpace();
            } else if (!peek('}')) {
                throw error("expected ',' or '}'");
            }
        }
        expect('}');
        return map;
    }

    private List<Object> sequence(char open, char close, int depth, boolean tuple) throws ParseException {
        expect(open);
        List<Object> items = new ArrayList<>();
        boolean sawComma = false;
        skipSpace();
        while (!peek(close)) {
            items.add(value(depth + 1));
            skipSpace();
            sawComma = false;
            if (peek(',')) {
                pos++;
                sawComma = true;
                skipSpace();
            } else if (!peek(close)) {
                throw error("expected ',' or '" + close + "'");
            }
        }
        expect(close);
        if (tuple && items.size() == 1 && !sawComma) {
            throw error("parenthesised expression is not a tuple (a 1-tuple needs a trailing comma)");
        }
        return items;
    }

    private String string() throws ParseException {
        char quote = s.charAt(pos++);
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= s.length()) {
                throw error("unterminated string");
            }
            char c = s.charAt(pos++);
            if (c == quote) {
                return sb.toString();
            }
            if (c == '\n') {
                throw error("newline in string");
            }
            if (c == '\\') {
                if (pos >= s.length()) {
                    throw error("unterminated string");
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case 'n': sb.append('\n'); break;
                    case 't': sb.append('\t'); break;
                    case 'r': sb.append('\r'); break;
                    case '0': sb.append('\0'); break;
                    case '\\': case '\'': case '"': sb.append(e); break;
                    default: sb.append('\\').append(e); break;
                }
            } else {
                sb.append(c);
            }
        }
    }

    private Long integer() throws ParseException {
        int start = pos;
        if (peek('-') || peek('+')) {
            pos++;
        }
        int digits = pos;
        while (pos < s.length() && Character.isDigit(s.charAt(pos)) && s.charAt(pos) < 128) {
            pos++;
        }
        if (pos == digits) {
            throw error("expected digits");
        }
        String text = s.substring(start, pos);
        if (peek('L') || peek('l')) {
            pos++; // Python 2 long suffix
        }
        if (pos < s.length() && (s.charAt(pos) == '.' || s.charAt(pos) == 'e' || s.charAt(pos) == 'E'
                || Character.isLetterOrDigit(s.charAt(pos)))) {
            throw error("only integers are supported");
        }
        try {
            return Long.parseLong(text.startsWith("+") ? text.substring(1) : text);
        } catch (NumberFormatException e) {
            throw error("integer " + text + " does not fit in 64 bits");
        }
    }

    private Object name() throws ParseException {
        int start = pos;
        while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) {
            pos++;
        }
        String word = s.substring(start, pos);
        switch (word) {
            case "True":
                return Boolean.TRUE;
            case "False":
                return Boolean.FALSE;
            case "None":
                return null;
            default:
                pos = start;
                throw error("unsupported name '" + word + "'");
        }
    }

    private boolean peek(char c) {
        return pos < s.length() && s.charAt(pos) == c;
    }

    private void expect(char c) throws ParseException {
        if (!peek(c)) {
            throw error(pos >= s.length() ? "unexpected end, expected '" + c + "'" : "expected '" + c + "'");
        }
        pos++;
    }

    private void skipSpace() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                pos++;
            } else {
                break;
            }
        }
    }

    private ParseException error(String why) {
        return new ParseException(why + " at offset " + pos);
    }
}
