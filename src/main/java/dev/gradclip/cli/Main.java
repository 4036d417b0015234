package dev.gradclip.cli;

import dev.gradclip.Backend;
import dev.gradclip.BackendStatus;
import dev.gradclip.ClipOperation;
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
import dev.gradclip.distributed.ExchangeProvider;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.Charset;
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
 *
 * <p>With the system property {@value #STDOUT_FILE_PROPERTY} set to a file, {@link #main} writes what it
 * would print on stdout to that file instead: bin/gradclip sets it for a clip sharded across processes,
 * whose exchange engine (Gloo) prints to the process's stdout, and copies the file to its own stdout.
 */
public final class Main {
    public static final int EXIT_OK = 0;
    public static final int EXIT_INTERNAL = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_NONFINITE = 3;
    /** A file that receives what {@link #main} would print on stdout (see the class comment). */
    public static final String STDOUT_FILE_PROPERTY = "gradclip.cli.stdout";

    static final String USAGE = String.join("\n",
            "usage:",
            "  gradclip info",
            "      backends available here, and why any is not (JSON)",
            "  gradclip clip --in IN.npz --out OUT.npz --op value|norm|global-norm|renormalize|norms [options]",
            "  gradclip replay --out-dir DIR --policy POLICY [options] STEP.npz...   (see gradclip replay --help)",
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
            "  --op renormalize    scale each array to norm 1 (DL4J RenormalizeL2PerLayer; norm 0 taken as 1e-5)",
            "      [--norm-type P]",
            "  --op norms          only measure norms: writes no OUT, needs no --out",
            "      [--norm-type P]",
            "",
            "sharded across processes (--op global-norm and norms; needs distributed/c10d, which bin/gradclip adds):",
            "  --rank R --world-size W --rendezvous tcp://HOST:PORT [--timeout-s S]",
            "                      this process is rank R of W; each rank passes its own IN (and OUT); the global set",
            "                      is the ranks' archives concatenated in rank order (array names distinct across",
            "                      ranks), and every rank gets the bits of one clip of that concatenation: the same",
            "                      total_norm and scale, its own arrays' tensor_norms. Rank 0 listens on PORT (on",
            "                      every interface: firewall it). A rank missing after S seconds (default 120)",
            "                      fails every rank with exit 2, and no OUT is written.",
            "",
            "options:",
            "  --in FILE           input .npz (np.savez or np.savez_compressed) of float16/float32/float64 arrays;",
            "                      a regular file (not a FIFO or device), at most as large as the Java heap allows",
            "  --out FILE          output .npz: the same names, order, shapes, dtypes and compression;",
            "                      written atomically, never half-written, not written on failure; an existing",
            "                      FILE must be a regular file (a symbolic link is followed and its target replaced)",
            "  --norm-type P       1, 2 (default), inf, or any real p > 0",
            "  --semantics S       torch (default): scale = min(X / (N + 1e-6), 1); tf: scale = X / max(N, X)",
            "  --nonfinite POLICY  propagate (default): apply as PyTorch/TF do; error: exit 3, write nothing;",
            "                      skip: leave every array unchanged (OUT is a copy of IN) and report skipped",
            "  --backend B         auto (default: cuda if available, else cpu), cpu, cuda, emulated",
            "  --loss-scale S      IN holds gradients times a loss scale S: norms and thresholds apply to g/S, OUT is",
            "                      unscaled (norm, global-norm: one write pass with the factor scale/S)",
            "  -h, --help          this text",
            "",
            "stdout: one JSON object (backend, op, total_norm, scale, tensor_norms, tensor_names, clipped_elements,",
            "nonfinite_elements, skipped, ...); non-finite numbers as the strings \"NaN\", \"Infinity\", \"-Infinity\".",
            "exit status: 0 ok, 2 usage or bad input (also: not enough memory; raise -Xmx), 3 non-finite under",
            "--nonfinite error, 1 internal error.",
            "");

    /** The --op names: {@link ClipOperation#cliName()} of each operation. */
    private static final List<String> OPS = List.of("value", "norm", "global-norm", "renormalize", "norms");
    private static final List<String> CLIP_OPTIONS = List.of("--in", "--out", "--op", "--min", "--max", "--max-norm",
            "--norm-type", "--semantics", "--nonfinite", "--backend", "--rank", "--world-size", "--rendezvous", "--timeout-s");
    /** A decimal number (no hex, no 'd'/'f' suffix), or inf/infinity with an optional sign. */
    private static final Pattern NUMBER = Pattern.compile(
            "[+-]?(?:(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?|inf|infinity|nan)", Pattern.CASE_INSENSITIVE);

    private Main() {
    }

    public static void main(String[] args) {
        PrintStream out = System.out;
        String file = System.getProperty(STDOUT_FILE_PROPERTY);
        if (file != null) {
            try {
                out = new PrintStream(new FileOutputStream(file), true);
            } catch (IOException e) {
                System.err.println("gradclip: cannot open " + file + " (-D" + STDOUT_FILE_PROPERTY + ") for the report: " + e.getMessage());
                System.exit(EXIT_INTERNAL);
            }
        }
        int code = run(args, out, System.err);
        out.flush();
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
        if (args.length > 0 && args[0].equals("replay")) {
            return ReplayCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        if (args.length > 0 && args[0].equals("clip") && ReplayCommand.hasLossScale(args)) {
            for (String a : args) {
                for (String n : ShardOptions.NAMES) {
                    if (a.equals(n) || a.startsWith(n + "=")) {
                        err.println("gradclip: --loss-scale does not apply to a clip sharded across processes (" + n + ")");
                        err.flush();
                        return EXIT_USAGE;
                    }
                }
            }
            return ReplayCommand.clipWithLossScale(args, out, err);
        }
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
        } catch (OutOfMemoryError e) {
            err.println("gradclip: not enough memory (" + e.getMessage() + ", Java heap limit "
                    + (Runtime.getRuntime().maxMemory() >> 20) + " MiB): " + NpzReader.MEMORY_HINT);
            err.flush();
            return EXIT_USAGE;
        } catch (RuntimeException e) {
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
            throw new UsageException("unknown --op '" + op + "' (expected value, norm, global-norm, renormalize or norms)");
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
        ShardOptions sharded = ShardOptions.parse(o, op);
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
        // the library's own records validate the values; their messages are passed on with the option's name
        ValueClip valueClip = null;
        NormClip normClip = null;
        NormType normType = NormType.L2;
        if (o.containsKey("--norm-type")) {
            double p = number("--norm-type", o.get("--norm-type"));
            normType = option("--norm-type", o, () -> NormType.of(p));
        }
        if (isValue) {
            double max = number("--max", required(o, "--max"));
            if (o.containsKey("--min")) {
                double min = number("--min", o.get("--min"));
                valueClip = option("--min/--max", o, () -> ValueClip.between(min, max));
            } else {
                valueClip = option("--max", o, () -> ValueClip.symmetric(max));
            }
            valueClip = valueClip.withNonFinite(policy);
        } else if (isNormClip) {
            double maxNorm = number("--max-norm", required(o, "--max-norm"));
            Semantics semantics = Semantics.TORCH;
            if (o.containsKey("--semantics")) {
                semantics = choice("--semantics", o.get("--semantics"), Semantics.values());
            }
            NormType p = normType;
            Semantics sem = semantics;
            NonFinitePolicy pol = policy;
            normClip = option("--max-norm", o, () -> new NormClip(maxNorm, p, sem, pol));
        }
        ClipOperation operation = switch (op) {
            case "value" -> new ClipOperation.ByValue(valueClip);
            case "norm" -> new ClipOperation.ByNorm(normClip);
            case "global-norm" -> new ClipOperation.ByGlobalNorm(normClip);
            case "renormalize" -> new ClipOperation.Renormalize(normType, policy);
            default -> new ClipOperation.Norms(normType, policy);
        };
        if (outPath != null) {
            checkWritable(outPath);
        }
        ExchangeProvider provider = sharded == null ? null : ShardedClip.provider();

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
            // the reader's arrays are clipped in place and written as they are: one copy of the data in memory
            List<NamedArray> arrays = archive.arrays();
            List<Tensor> tensors = new ArrayList<>(arrays.size());
            for (NamedArray a : arrays) {
                tensors.add(tensor(a.sharedData()));
            }
            GradientSet grads = GradientSet.of(tensors);

            ReportValues report;
            String error = null;
            ShardedClip.Outcome shard = null;
            try {
                if (sharded != null) {
                    shard = ShardedClip.run(provider, sharded, clipper, grads, archive.names(), operation,
                            settings(op, normType, normClip, policy));
                    report = shard.values();
                    error = shard.error();
                } else {
                    report = ReportValues.of(clipper.apply(grads, operation));
                }
            } catch (NonFiniteGradientException e) {
                report = e.report() == null ? null : ReportValues.of(e.report());
                error = e.getMessage();
            } catch (IllegalArgumentException e) {
                throw new InputException(e.getMessage());
            }

            boolean written = false;
            if (error == null && outPath != null) {
                try {
                    NpzWriter.write(outPath, archive);
                } catch (NpzException e) {
                    throw new InputException(e.getMessage());
                }
                written = true;
            }

            Json.Obj json = report != null
                    ? reportJson(report, op, archive, normType, normClip, valueClip, policy, clipper)
                    : Json.object().put("backend", clipper.backend().cliName()).put("op", op);
            json.put("out", written ? outPath.toString() : null);
            if (shard != null) {
                json.put("rank", sharded.rank());
                json.put("world_size", sharded.worldSize());
                json.put("global_tensor_offset", shard.layout().offset());
                json.put("global_tensor_count", shard.layout().globalCount());
                json.put("exchange", shard.exchange());
            }
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

    /**
     * The clip options that decide the result, as one text: a sharded clip's ranks must agree on it
     * (numbers as shortest round-trip decimals, so equal text means equal bits).
     */
    private static String settings(String op, NormType normType, NormClip normClip, NonFinitePolicy policy) {
        return "--op " + op + " --norm-type " + normTypeText(normType)
                + (normClip == null ? "" : " --max-norm " + normClip.maxNorm() + " --semantics "
                        + normClip.semantics().name().toLowerCase(Locale.ROOT))
                + " --nonfinite " + policy.name().toLowerCase(Locale.ROOT);
    }

    private static Json.Obj reportJson(ReportValues r, String op, NpzArchive archive, NormType normType, NormClip normClip,
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
        j.put("norm_type", valueClip == null ? normTypeText(normType) : null);
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

    /**
     * A decimal number, [+-]inf(inity) or nan; hex and suffixed forms are rejected. Whether the value
     * is allowed (NaN, negative, infinite) is the library's decision, see {@link #option}.
     */
    static double number(String option, String text) throws UsageException {
        String t = text.trim();
        if (!NUMBER.matcher(t).matches()) {
            throw new UsageException(option + " needs a number, got '" + text + "'");
        }
        String lower = t.toLowerCase(Locale.ROOT);
        if (lower.endsWith("nan")) {
            return Double.NaN;
        }
        if (lower.endsWith("inf") || lower.endsWith("infinity")) {
            return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        return Double.parseDouble(t);
    }

    /** Something that builds one of the library's option records and may refuse the values. */
    @FunctionalInterface
    private interface Build<T> {
        T get();
    }

    /**
     * Builds a library record from option values; its IllegalArgumentException becomes a usage error
     * naming the options as given, e.g. {@code --max-norm -1: max norm must be finite and >= 0, got -1.0}.
     */
    private static <T> T option(String names, Map<String, String> o, Build<T> build) throws UsageException {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            StringBuilder given = new StringBuilder();
            for (String n : names.split("/")) {
                if (o.containsKey(n)) {
                    given.append(given.length() == 0 ? "" : " ").append(n).append(' ').append(o.get(n));
                }
            }
            throw new UsageException(given + ": " + e.getMessage());
        }
    }

    /**
     * The p of a norm as the report prints it: "inf", an integer when p is one exactly (below 2^53,
     * where every integer is a double), else Java's shortest round-trip decimal ("3.5", "1.0E300").
     */
    static String normTypeText(NormType t) {
        double p = t.p();
        if (t.isInfinity()) {
            return "inf";
        }
        if (p == Math.rint(p) && p < 0x1p53) {
            return Long.toString((long) p);
        }
        return Double.toString(p);
    }

    private static Path path(String text, String option) throws UsageException {
        if (text.isEmpty()) {
            throw new UsageException(option + " needs a file name");
        }
        String encoding = System.getProperty("sun.jnu.encoding", Charset.defaultCharset().name());
        if (text.indexOf('\uFFFD') >= 0 || !fileNameCharset(encoding).newEncoder().canEncode(text)) {
            // the JVM decoded the argument's bytes with the platform encoding and replaced what did not
            // decode: a file under the decoded name would not be the file the command line named
            throw new InputException(option + " '" + text + "' has bytes that are not valid " + encoding
                    + " (the file name encoding of this JVM), so the file cannot be named faithfully; rename it, "
                    + "or run with a locale whose encoding matches the name (e.g. LANG=C.UTF-8)");
        }
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new UsageException(option + " '" + text + "' is not a valid path: " + e.getReason());
        }
    }

    private static Charset fileNameCharset(String name) {
        try {
            return Charset.forName(name);
        } catch (IllegalArgumentException e) {
            return Charset.defaultCharset();
        }
    }

    /** OUT must be creatable or a regular file to replace (symbolic links followed); checked before reading. */
    private static void checkWritable(Path out) throws UsageException {
        try {
            NpzWriter.destination(out);
        } catch (NpzException e) {
            throw new InputException("--out " + e.getMessage());
        }
    }
}
