package dev.gradclip.cli;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.DType;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFiniteGradientException;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.Tensor;
import dev.gradclip.ValueClip;
import dev.gradclip.cli.npz.NamedArray;
import dev.gradclip.cli.npz.NpzArchive;
import dev.gradclip.cli.npz.NpzException;
import dev.gradclip.cli.npz.NpzReader;
import dev.gradclip.cli.npz.NpzWriter;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The command line: {@code gradclip info} and {@code gradclip clip ...} (see {@link #USAGE}).
 *
 * <p>stdout carries exactly one JSON object (nothing on a usage error); stderr a one-line message on
 * failure. Exit codes: 0 success, 1 internal error, 2 usage or bad input (OUT not written), 3 a
 * non-finite norm or element under {@code --nonfinite error} (OUT not written; the JSON report with
 * the measured norms and an {@code error} field is still printed).
 */
public final class Main {
    public static final int EXIT_OK = 0;
    public static final int EXIT_INTERNAL = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_NONFINITE = 3;

    static final String USAGE = String.join("\n",
            "usage:",
            "  gradclip info",
            "      backends available here, and why any is not (JSON)",
            "  gradclip clip --in IN.npz --out OUT.npz --op value|norm|global-norm|norms [options]",
            "  " + PlotCommand.USAGE,
            "  " + SuggestCommand.USAGE,
            "  gradclip demo [--quick] [--out DIR] [--backend B]   exploding gradients tamed in Deeplearning4j",
            "                      (run by bin/gradclip through demo/run; see demo/README.md)",
            "",
            "operations:",
            "  --op value          clamp every element into [min, max]",
            "      [--min A] --max B            A defaults to -B",
            "  --op norm           scale each array on its own so its norm is at most X",
            "  --op global-norm    scale all arrays together so their joint norm is at most X",
            "      --max-norm X [--norm-type P] [--semantics torch|tf]",
            "  --op norms          only measure norms: writes no OUT, needs no --out",
            "      [--norm-type P]",
            "",
            "options:",
            "  --in FILE           input .npz (np.savez or np.savez_compressed) of float16/float32/float64 arrays",
            "  --out FILE          output .npz: the same names, order, shapes, dtypes and compression;",
            "                      written atomically, never half-written, not written on failure",
            "  --norm-type P       1, 2 (default), inf, or any real p > 0",
            "  --semantics S       torch (default): scale = min(X / (N + 1e-6), 1); tf: scale = X / max(N, X)",
            "  --nonfinite POLICY  propagate (default): apply as PyTorch/TF do; error: exit 3, write nothing;",
            "                      skip: leave every array unchanged (OUT is a copy of IN) and report skipped",
            "  --backend B         auto (default: cuda if available, else cpu), cpu, cuda, emulated",
            "  -h, --help          this text",
            "",
            "stdout: one JSON object (backend, op, total_norm, scale, tensor_norms, tensor_names, clipped_elements,",
            "nonfinite_elements, skipped, ...); non-finite numbers as the strings \"NaN\", \"Infinity\", \"-Infinity\".",
            "exit status: 0 ok, 2 usage or bad input, 3 non-finite under --nonfinite error, 1 internal error.",
            "");

    private static final List<String> OPS = List.of("value", "norm", "global-norm", "norms");
    private static final List<String> CLIP_OPTIONS = List.of("--in", "--out", "--op", "--min", "--max", "--max-norm",
            "--norm-type", "--semantics", "--nonfinite", "--backend");
    /** A decimal number (no hex, no 'd'/'f' suffix), or inf/infinity with an optional sign. */
    private static final Pattern NUMBER = Pattern.compile(
            "[+-]?(?:(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?|inf|infinity|nan)", Pattern.CASE_INSENSITIVE);

    private Main() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** A usage or input problem: exit 2 with this message. */
    static class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** Bad input (a file, a backend) rather than bad options: exit 2, without the --help hint. */
    static final class InputException extends UsageException {
        private static final long serialVersionUID = 1L;

        InputException(String message) {
            super(message);
        }
    }

    /** Runs the command line without exiting; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            if (args.length == 0) {
                throw new UsageException("no command given (expected info or clip)");
            }
            for (String a : args) {
                if (a.equals("-h") || a.equals("--help")) {
                    out.print(USAGE);
                    out.flush();
                    return EXIT_OK;
                }
            }
            switch (args[0]) {
                case "help":
                    out.print(USAGE);
                    out.flush();
                    return EXIT_OK;
                case "info":
                    if (args.length > 1) {
                        throw new UsageException("info takes no arguments, got '" + args[1] + "'");
                    }
                    return info(out);
                case "clip":
                    return clip(parseOptions(args), out, err);
                case "plot": // monitor: PNG plots of a log (PlotCommand)
                    return PlotCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
                case "suggest": // monitor: a threshold from a warm-up log (SuggestCommand)
                    return SuggestCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
                default:
                    throw new UsageException("unknown command '" + args[0] + "' (expected info or clip)");
            }
        } catch (UsageException e) {
            err.println("gradclip: " + e.getMessage() + (e instanceof InputException ? "" : " (see gradclip --help)"));
            err.flush();
            return EXIT_USAGE;
        } catch (RuntimeException | OutOfMemoryError e) {
            err.println("gradclip: internal error: " + e);
            err.flush();
            return EXIT_INTERNAL;
        }
    }

    // ------------------------------------------------------------------ info

    private static int info(PrintStream out) {
        List<Object> backends = new ArrayList<>();
        String auto = "cpu";
        for (BackendStatus s : Clipper.availableBackends()) {
            backends.add(Json.object().put("name", s.backend().cliName()).put("available", s.available())
                    .put("reason", s.detail()));
            if (s.backend() == Backend.CUDA && s.available()) {
                auto = "cuda";
            }
        }
        out.println(Json.write(Json.object().put("backends", backends).put("auto", auto)
                .put("java", System.getProperty("java.version"))));
        out.flush();
        return EXIT_OK;
    }

    // ------------------------------------------------------------------ clip

    /** Splits {@code --name value} and {@code --name=value} pairs; rejects unknown, repeated and valueless options. */
    static Map<String, String> parseOptions(String[] args) throws UsageException {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new UsageException("unexpected argument '" + a + "'");
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (eq >= 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (!CLIP_OPTIONS.contains(name)) {
                throw new UsageException("unknown option '" + name + "'");
            }
            if (value == null) {
                if (i + 1 >= args.length || (args[i + 1].startsWith("--") && !NUMBER.matcher(args[i + 1]).matches())) {
                    throw new UsageException("option " + name + " needs a value");
                }
                value = args[++i];
            }
            if (opts.containsKey(name)) {
                throw new UsageException("option " + name + " given twice");
            }
            opts.put(name, value);
        }
        return opts;
    }

    private static int clip(Map<String, String> o, PrintStream out, PrintStream err) throws UsageException {
        // ---- validate every option before reading anything
        String op = required(o, "--op");
        if (!OPS.contains(op)) {
            throw new UsageException("unknown --op '" + op + "' (expected value, norm, global-norm or norms)");
        }
        boolean isValue = op.equals("value");
        boolean isNorms = op.equals("norms");
        boolean isNormClip = op.equals("norm") || op.equals("global-norm");
        if (!isValue) {
            forbid(o, op, "--min", "--max");
        }
        if (!isNormClip) {
            forbid(o, op, "--max-norm", "--semantics");
        }
        if (isValue) {
            forbid(o, op, "--norm-type");
        }
        if (isNorms && o.containsKey("--out")) {
            throw new UsageException("--out does not apply to --op norms (it writes no archive)");
        }
        Path in = path(required(o, "--in"), "--in");
        Path outPath = isNorms ? null : path(required(o, "--out"), "--out");

        NonFinitePolicy policy = NonFinitePolicy.PROPAGATE;
        if (o.containsKey("--nonfinite")) {
            policy = choice("--nonfinite", o.get("--nonfinite"), NonFinitePolicy.values());
        }
        Backend backend = Backend.AUTO;
        if (o.containsKey("--backend")) {
            try {
                backend = Backend.parse(o.get("--backend"));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        ValueClip valueClip = null;
        NormClip normClip = null;
        NormType normType = NormType.L2;
        if (o.containsKey("--norm-type")) {
            normType = normType(o.get("--norm-type"));
        }
        if (isValue) {
            double max = number("--max", required(o, "--max"));
            double min;
            if (o.containsKey("--min")) {
                min = number("--min", o.get("--min"));
            } else {
                if (max < 0) {
                    throw new UsageException("--max " + o.get("--max") + " is negative; without --min the range is [-max, max]");
                }
                min = -max;
            }
            if (min > max) {
                throw new UsageException("--min " + o.get("--min") + " is greater than --max " + o.get("--max"));
            }
            valueClip = new ValueClip(min, max, policy);
        } else if (isNormClip) {
            double maxNorm = number("--max-norm", required(o, "--max-norm"));
            if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
                throw new UsageException("--max-norm must be finite and > 0, got " + o.get("--max-norm"));
            }
            Semantics semantics = Semantics.TORCH;
            if (o.containsKey("--semantics")) {
                semantics = choice("--semantics", o.get("--semantics"), Semantics.values());
            }
            normClip = new NormClip(maxNorm, normType, semantics, policy);
        }
        if (outPath != null) {
            checkWritable(outPath);
        }

        // ---- the backend, then the input
        Clipper clipper;
        try {
            clipper = Clipper.create(backend);
        } catch (IllegalStateException e) {
            throw new InputException(e.getMessage());
        }
        try (clipper) {
            NpzArchive archive;
            try {
                archive = NpzReader.read(in);
            } catch (NpzException e) {
                throw new InputException(e.getMessage());
            }
            List<NamedArray> arrays = archive.arrays();
            List<Object> data = new ArrayList<>(arrays.size());
            List<Tensor> tensors = new ArrayList<>(arrays.size());
            for (NamedArray a : arrays) {
                Object d = a.data();
                data.add(d);
                tensors.add(tensor(d));
            }
            GradientSet grads = GradientSet.of(tensors);

            ClipReport report;
            String error = null;
            try {
                switch (op) {
                    case "value":
                        report = clipper.clipByValue(grads, valueClip);
                        break;
                    case "norm":
                        report = clipper.clipByNorm(grads, normClip);
                        break;
                    case "global-norm":
                        report = clipper.clipByGlobalNorm(grads, normClip);
                        break;
                    default:
                        report = clipper.norms(grads, normType, policy);
                        break;
                }
            } catch (NonFiniteGradientException e) {
                report = e.report();
                error = e.getMessage();
            } catch (IllegalArgumentException e) {
                throw new InputException(e.getMessage());
            }

            boolean written = false;
            if (error == null && outPath != null) {
                List<NamedArray> result = new ArrayList<>(arrays.size());
                for (int i = 0; i < arrays.size(); i++) {
                    result.add(arrays.get(i).withData(data.get(i)));
                }
                try {
                    NpzWriter.write(outPath, result, archive.compressed());
                } catch (NpzException e) {
                    throw new InputException(e.getMessage());
                }
                written = true;
            }

            Json.Obj json = report != null
                    ? reportJson(report, op, archive, normType, normClip, valueClip, policy, clipper)
                    : Json.object().put("backend", clipper.backend().cliName()).put("op", op);
            json.put("out", written ? outPath.toString() : null);
            if (error != null) {
                json.put("error", error);
            }
            out.println(Json.write(json));
            out.flush();
            if (error != null) {
                err.println("gradclip: " + error + (outPath != null ? "; " + outPath + " was not written" : ""));
                err.flush();
                return EXIT_NONFINITE;
            }
            return EXIT_OK;
        }
    }

    private static Json.Obj reportJson(ClipReport r, String op, NpzArchive archive, NormType normType, NormClip normClip,
                                       ValueClip valueClip, NonFinitePolicy policy, Clipper clipper) {
        Json.Obj j = Json.object();
        j.put("backend", r.backend());
        j.put("op", op);
        j.put("total_norm", r.hasNorms() ? (Object) r.totalNorm() : null);
        j.put("scale", r.scale());
        j.put("tensor_norms", r.hasNorms() ? r.tensorNorms() : null);
        j.put("clipped_elements", r.clippedElements());
        j.put("nonfinite_elements", r.nonFiniteElements());
        j.put("skipped", r.skipped());
        j.put("tensor_names", archive.names());
        j.put("tensor_scales", r.tensorScales());
        j.put("total_elements", r.totalElements());
        j.put("clipped_fraction", r.clippedFraction());
        j.put("norm_type", valueClip == null ? normType.toString() : null);
        j.put("semantics", normClip == null ? null : normClip.semantics().name().toLowerCase(Locale.ROOT));
        j.put("max_norm", normClip == null ? null : (Object) normClip.maxNorm());
        j.put("min", valueClip == null ? null : (Object) valueClip.min());
        j.put("max", valueClip == null ? null : (Object) valueClip.max());
        j.put("nonfinite", policy.name().toLowerCase(Locale.ROOT));
        j.put("compressed", archive.compressed());
        j.put("backend_reason", clipper.selectionReason());
        return j;
    }

    private static Tensor tensor(Object data) {
        if (data instanceof float[]) {
            return Tensor.of((float[]) data);
        } else if (data instanceof double[]) {
            return Tensor.of((double[]) data);
        }
        return Tensor.of((short[]) data, DType.FLOAT16);
    }

    // ------------------------------------------------------------------ option helpers

    private static String required(Map<String, String> o, String name) throws UsageException {
        String v = o.get(name);
        if (v == null) {
            throw new UsageException("missing " + name);
        }
        return v;
    }

    private static void forbid(Map<String, String> o, String op, String... names) throws UsageException {
        for (String n : names) {
            if (o.containsKey(n)) {
                throw new UsageException(n + " does not apply to --op " + op);
            }
        }
    }

    private static <E extends Enum<E>> E choice(String option, String text, E[] values) throws UsageException {
        StringBuilder names = new StringBuilder();
        for (E v : values) {
            String n = v.name().toLowerCase(Locale.ROOT);
            if (n.equals(text.trim().toLowerCase(Locale.ROOT))) {
                return v;
            }
            names.append(names.length() == 0 ? "" : ", ").append(n);
        }
        throw new UsageException("unknown " + option + " '" + text + "' (expected " + names + ")");
    }

    /** A decimal number or [+-]inf(inity); NaN, hex and suffixed forms are rejected. */
    static double number(String option, String text) throws UsageException {
        String t = text.trim();
        if (!NUMBER.matcher(t).matches()) {
            throw new UsageException(option + " needs a number, got '" + text + "'");
        }
        String lower = t.toLowerCase(Locale.ROOT);
        if (lower.endsWith("nan")) {
            throw new UsageException(option + " must not be NaN");
        }
        if (lower.endsWith("inf") || lower.endsWith("infinity")) {
            return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        return Double.parseDouble(t);
    }

    private static NormType normType(String text) throws UsageException {
        double p = number("--norm-type", text);
        if (!(p > 0)) {
            throw new UsageException("--norm-type must be 1, 2, inf or a real number > 0, got '" + text + "'");
        }
        return NormType.of(p);
    }

    private static Path path(String text, String option) throws UsageException {
        if (text.isEmpty()) {
            throw new UsageException(option + " needs a file name");
        }
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new UsageException(option + " '" + text + "' is not a valid path: " + e.getReason());
        }
    }

    private static void checkWritable(Path out) throws UsageException {
        if (Files.isDirectory(out)) {
            throw new InputException("--out " + out + " is a directory");
        }
        Path dir = out.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new InputException("--out " + out + ": the directory " + dir + " does not exist");
        }
    }
}
