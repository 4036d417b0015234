package dev.gradclip.cli;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The arguments of {@code plot} and {@code suggest}: one positional LOG and {@code --name value} (or
 * {@code --name=value}) options from a fixed set, none repeated.
 */
final class LogCommandArgs {
    private static final Pattern DECIMAL = Pattern.compile("[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?");

    final String command;
    final List<String> positional = new ArrayList<>();
    final Map<String, String> options = new LinkedHashMap<>();

    /** A usage problem: exit 2 with this message. */
    static final class BadArgs extends Exception {
        private static final long serialVersionUID = 1L;

        BadArgs(String message) {
            super(message);
        }
    }

    private LogCommandArgs(String command) {
        this.command = command;
    }

    static LogCommandArgs parse(String command, String[] args, List<String> known) throws BadArgs {
        LogCommandArgs a = new LogCommandArgs(command);
        for (int i = 0; i < args.length; i++) {
            String s = args[i];
            if (!s.startsWith("--") || s.equals("--")) {
                a.positional.add(s);
                continue;
            }
            String name = s;
            String value = null;
            int eq = s.indexOf('=');
            if (eq >= 0) {
                name = s.substring(0, eq);
                value = s.substring(eq + 1);
            }
            if (!known.contains(name)) throw new BadArgs("unknown option '" + name + "' (" + command + " takes " + known + ")");
            if (value == null) {
                if (i + 1 >= args.length) throw new BadArgs("option " + name + " needs a value");
                value = args[++i];
            }
            if (a.options.containsKey(name)) throw new BadArgs("option " + name + " given twice");
            a.options.put(name, value);
        }
        if (a.positional.isEmpty()) throw new BadArgs(command + " needs a LOG.jsonl argument");
        if (a.positional.size() > 1) throw new BadArgs(command + " takes one LOG.jsonl, got " + a.positional);
        return a;
    }

    Path log() throws BadArgs {
        return path(positional.get(0), "LOG");
    }

    static Path path(String text, String what) throws BadArgs {
        if (text.isEmpty()) throw new BadArgs(what + " must not be empty");
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new BadArgs(what + " '" + text + "' is not a valid path: " + e.getReason());
        }
    }

    /** A finite decimal number (no hex, no suffix) in [lo, hi]. */
    double number(String option, double dflt, double lo, double hi) throws BadArgs {
        String v = options.get(option);
        if (v == null) return dflt;
        if (!DECIMAL.matcher(v).matches()) throw new BadArgs(option + " takes a number, got '" + v + "'");
        double d = Double.parseDouble(v);
        if (!(d >= lo && d <= hi)) throw new BadArgs(option + " must be in [" + fmt(lo) + ", " + fmt(hi) + "], got " + v);
        return d;
    }

    /** A non-negative integer. */
    int count(String option, int dflt) throws BadArgs {
        String v = options.get(option);
        if (v == null) return dflt;
        if (!v.matches("\\d{1,9}")) throw new BadArgs(option + " takes a non-negative integer, got '" + v + "'");
        return Integer.parseInt(v);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
