package dev.gradclip.cli;

import dev.gradclip.Backend;
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
import dev.gradclip.monitor.MonitorPlots;
import dev.gradclip.monitor.StepObservation;
import dev.gradclip.policy.AdaptiveGradClip;
import dev.gradclip.policy.ClipPolicy;
import dev.gradclip.policy.LossScaledClip;
import dev.gradclip.policy.SpikeSkipper;
import dev.gradclip.policy.StepRecord;
import dev.gradclip.policy.TrainingClipper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code gradclip replay}: runs a clipping policy over recorded steps, as a training loop would.
 * <pre>
 * gradclip replay --out-dir DIR --policy POLICY [--params PARAMS.npz] [--norm-type P]
 *      [--semantics torch|tf] [--nonfinite ...] [--loss-scale S] [--skip-above K] [--backend ...] STEP.npz...
 * </pre>
 * Each STEP.npz is one step's gradients, applied in the order given. Writes DIR/&lt;same file name&gt;
 * (the clipped gradients), DIR/log.jsonl (one {@link StepRecord} per line: {@code step}, {@code file},
 * {@code total_norm}, {@code threshold} (null when the policy sets none), {@code scale}, {@code clipped},
 * {@code skipped}, {@code found_inf}; the monitor's {@code plot} and {@code suggest} read it),
 * DIR/norms.png (the monitor's norm plot, {@link #writePlot}); prints one JSON summary on stdout;
 * progress goes to stderr only.
 *
 * <p>Every input is read and checked before anything is written: a usage error or bad input (unknown
 * policy, missing or mismatched {@code --params}, arrays whose names, shapes or dtypes differ between
 * steps, an empty step list, an unreadable archive) exits 2 and writes nothing. Under
 * {@code --nonfinite error} a step holding a NaN or infinite element exits 3, also before anything is written.
 */
public final class ReplayCommand {
    static final String USAGE = String.join("\n",
            "usage:",
            "  gradclip replay --out-dir DIR --policy POLICY [--params PARAMS.npz] [--norm-type P]",
            "       [--semantics torch|tf] [--nonfinite ...] [--loss-scale S] [--skip-above K] [--backend ...] STEP.npz...",
            "    POLICY: fixed:M | linear:M0:M1:N | cosine:M0:M1:N | autoclip:P[:W] | zclip:Z[:ALPHA[:WARMUP]] | agc:LAMBDA[:EPS]",
            "",
            "Each STEP.npz is one step's gradients, applied in the order given. Writes DIR/<same file name> (the",
            "clipped gradients), DIR/log.jsonl (one JSON object per step: step, file, total_norm, threshold (null",
            "when the policy sets none), scale, clipped, skipped, found_inf) and DIR/norms.png; prints a summary.",
            "",
            "policies (step t counts from 0):",
            "  fixed:M             threshold M",
            "  linear:M0:M1:N      M0 + (M1 - M0)*min(t, N-1)/(N-1)",
            "  cosine:M0:M1:N      M1 + (M0 - M1)*(1 + cos(pi*min(t, N-1)/(N-1)))/2",
            "  autoclip:P[:W]      P-th percentile (numpy linear) of the norms so far (the last W)",
            "  zclip:Z[:ALPHA[:WARMUP]]  ZClip z-score mode, adaptive scaling (defaults 2.5, 0.97, 25)",
            "  agc:LAMBDA[:EPS]    adaptive gradient clipping per row against --params (eps default 1e-3)",
            "",
            "options:",
            "  --out-dir DIR       output directory (created if missing)",
            "  --params FILE       agc only: the parameters, same array names and shapes as the steps",
            "  --norm-type P       1, 2 (default), inf or any real p > 0 (not for agc: its unit norms are L2)",
            "  --semantics S       torch (default): scale = min(M / (N + 1e-6), 1); tf: M / max(N, M)",
            "  --nonfinite POLICY  propagate (default), error (exit 3 before writing anything), skip (leave the step as it is)",
            "  --loss-scale S      the steps hold gradients multiplied by S: norms and thresholds apply to g/S,",
            "                      the output is unscaled and clipped in one pass",
            "  --skip-above K      skip a step whose norm exceeds K x the median of the last 100 accepted (after 10)",
            "  --backend B         auto (default), cpu, cuda, emulated",
            "",
            "exit status: 0 ok, 2 usage or bad input (nothing written), 3 non-finite under --nonfinite error, 1 internal error.",
            "");

    private static final List<String> OPTIONS = List.of("--out-dir", "--policy", "--params", "--norm-type", "--semantics",
            "--nonfinite", "--loss-scale", "--skip-above", "--backend");

    private ReplayCommand() {
    }

    /** A usage or input problem: exit 2, nothing written. */
    static final class BadInput extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean hint;

        BadInput(String message, boolean hint) {
            super(message);
            this.hint = hint;
        }
    }

    /** Runs {@code replay} with the arguments after the command name; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            for (String a : args) {
                if (a.equals("-h") || a.equals("--help")) {
                    out.print(USAGE);
                    out.flush();
                    return Main.EXIT_OK;
                }
            }
            return replay(args, out, err);
        } catch (BadInput e) {
            err.println("gradclip replay: " + e.getMessage() + (e.hint ? " (see gradclip replay --help)" : ""));
            err.flush();
            return Main.EXIT_USAGE;
        } catch (RuntimeException | OutOfMemoryError e) {
            err.println("gradclip replay: internal error: " + e);
            err.flush();
            return Main.EXIT_INTERNAL;
        }
    }

    private static BadInput usage(String m) {
        return new BadInput(m, true);
    }

    private static BadInput input(String m) {
        return new BadInput(m, false);
    }

    private static int replay(String[] args, PrintStream out, PrintStream err) throws BadInput {
        // ---- options
        Map<String, String> o = new LinkedHashMap<>();
        List<Path> steps = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--")) {
                String name = a;
                String value = null;
                int eq = a.indexOf('=');
                if (eq >= 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                }
                if (!OPTIONS.contains(name)) throw usage("unknown option '" + name + "'");
                if (value == null) {
                    if (i + 1 >= args.length) throw usage("option " + name + " needs a value");
                    value = args[++i];
                }
                if (o.containsKey(name)) throw usage("option " + name + " given twice");
                o.put(name, value);
            } else {
                steps.add(path(a, "STEP"));
            }
        }
        String outDirText = o.get("--out-dir");
        if (outDirText == null) throw usage("missing --out-dir");
        String policyText = o.get("--policy");
        if (policyText == null) throw usage("missing --policy");
        ClipPolicy policy;
        try {
            policy = ClipPolicy.parse(policyText);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        boolean agc = policy instanceof AdaptiveGradClip;
        if (agc && !o.containsKey("--params")) throw usage("policy " + policyText + " needs --params PARAMS.npz");
        if (!agc && o.containsKey("--params")) throw usage("--params applies only to the agc policy");
        if (agc && o.containsKey("--norm-type")) throw usage("--norm-type does not apply to agc (its unit norms are L2)");
        if (agc && o.containsKey("--semantics")) throw usage("--semantics does not apply to agc");
        if (steps.isEmpty()) throw usage("no STEP.npz given");

        TrainingClipper.Builder b = TrainingClipper.builder(policy);
        if (o.containsKey("--norm-type")) {
            double p = number("--norm-type", o.get("--norm-type"));
            if (!(p > 0)) throw usage("--norm-type must be 1, 2, inf or a real number > 0, got '" + o.get("--norm-type") + "'");
            b.normType(NormType.of(p));
        }
        if (o.containsKey("--semantics")) b.semantics(choice("--semantics", o.get("--semantics"), Semantics.values()));
        NonFinitePolicy nonFinite = NonFinitePolicy.PROPAGATE;
        if (o.containsKey("--nonfinite")) nonFinite = choice("--nonfinite", o.get("--nonfinite"), NonFinitePolicy.values());
        b.nonFinite(nonFinite);
        if (o.containsKey("--loss-scale")) {
            double s = number("--loss-scale", o.get("--loss-scale"));
            if (!(s >= Double.MIN_NORMAL) || Double.isInfinite(s)) {
                throw usage("--loss-scale must be a finite number > 0, got '" + o.get("--loss-scale") + "'");
            }
            b.lossScale(s);
        }
        if (o.containsKey("--skip-above")) {
            double k = number("--skip-above", o.get("--skip-above"));
            if (!(k > 0) || Double.isInfinite(k)) throw usage("--skip-above must be a finite number > 0, got '" + o.get("--skip-above") + "'");
            b.skipAbove(SpikeSkipper.of(k));
        }
        Backend backend = Backend.AUTO;
        if (o.containsKey("--backend")) {
            try {
                backend = Backend.parse(o.get("--backend"));
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
        }
        Path outDir = path(outDirText, "--out-dir");
        if (Files.exists(outDir) && !Files.isDirectory(outDir)) throw input("--out-dir " + outDir + " is not a directory");
        Path params = agc ? path(o.get("--params"), "--params") : null;

        // ---- every step's output name, distinct, never an input
        Set<String> names = new HashSet<>();
        for (Path p : steps) {
            Path fn = p.getFileName();
            if (fn == null) throw input("STEP " + p + " has no file name");
            String n = fn.toString();
            if (!names.add(n)) throw input("two steps have the file name " + n + ": DIR/" + n + " would be written twice");
            if (n.equals("log.jsonl") || n.equals("norms.png")) throw input("STEP " + p + " would overwrite DIR/" + n);
            if (!Files.isRegularFile(p)) throw input("STEP " + p + " does not exist or is not a file");
            Path target = outDir.resolve(n);
            try {
                if (Files.exists(target) && Files.isSameFile(target, p)) {
                    throw input("STEP " + p + " is in --out-dir: its output would overwrite it");
                }
            } catch (IOException e) {
                throw input("cannot compare " + target + " with " + p + ": " + e.getMessage());
            }
        }

        // ---- read and check every input before writing anything
        NpzArchive paramArchive = params == null ? null : read(params, "--params");
        NpzArchive first = null;
        boolean errorOnNonFinite = nonFinite == NonFinitePolicy.ERROR;
        for (int i = 0; i < steps.size(); i++) {
            NpzArchive a = read(steps.get(i), "STEP");
            if (first == null) {
                first = a;
                if (paramArchive != null) checkParams(paramArchive, a, steps.get(i));
            } else {
                sameLayout(first, steps.get(0), a, steps.get(i));
            }
            if (errorOnNonFinite) {
                for (NamedArray arr : a.arrays()) {
                    if (hasNonFinite(arr.data())) {
                        err.println("gradclip replay: step " + i + " (" + steps.get(i) + "): array '" + arr.name()
                                + "' holds a NaN or infinite element under --nonfinite error; nothing was written");
                        err.flush();
                        return Main.EXIT_NONFINITE;
                    }
                }
            }
            progress(err, "checked", i, steps.size());
        }

        Clipper clipper;
        try {
            clipper = Clipper.create(backend);
        } catch (IllegalStateException e) {
            throw input(e.getMessage());
        }
        TrainingClipper tc = b.build();
        List<String> log = new ArrayList<>(steps.size());
        List<StepRecord> records = new ArrayList<>(steps.size());
        try (clipper) {
            GradientSet paramSet = null;
            long[][] shapes = null;
            if (paramArchive != null) {
                List<Tensor> pt = new ArrayList<>();
                shapes = new long[first.size()][];
                for (int t = 0; t < first.size(); t++) {
                    NamedArray g = first.arrays().get(t);
                    NamedArray p = paramArchive.get(g.name()).orElseThrow();
                    pt.add(tensor(p.data()));
                    shapes[t] = g.shape();
                }
                paramSet = GradientSet.of(pt);
            }
            try {
                Files.createDirectories(outDir);
            } catch (IOException e) {
                throw input("cannot create --out-dir " + outDir + ": " + e.getMessage());
            }
            for (int i = 0; i < steps.size(); i++) {
                Path in = steps.get(i);
                NpzArchive a = read(in, "STEP");
                List<Object> data = new ArrayList<>();
                List<Tensor> tensors = new ArrayList<>();
                for (NamedArray arr : a.arrays()) {
                    Object d = arr.data();
                    data.add(d);
                    tensors.add(tensor(d));
                }
                GradientSet grads = GradientSet.of(tensors);
                StepRecord r;
                try {
                    r = agc ? tc.step(clipper, grads, paramSet, shapes) : tc.step(clipper, grads);
                } catch (NonFiniteGradientException e) {
                    writeLog(outDir, log);
                    err.println("gradclip replay: " + in + ": " + e.getMessage() + "; stopped (" + i + " steps written)");
                    err.flush();
                    return Main.EXIT_NONFINITE;
                } catch (IllegalArgumentException e) {
                    throw input(in + ": " + e.getMessage());
                }
                List<NamedArray> result = new ArrayList<>(data.size());
                for (int t = 0; t < data.size(); t++) result.add(a.arrays().get(t).withData(data.get(t)));
                try {
                    NpzWriter.write(outDir.resolve(in.getFileName().toString()), result, a.compressed());
                } catch (NpzException e) {
                    throw input(e.getMessage());
                }
                records.add(r);
                log.add(r.toJsonLine(in.getFileName().toString()));
                progress(err, "replayed", i, steps.size());
            }
            writeLog(outDir, log);
            List<String> files = new ArrayList<>();
            for (Path p : steps) files.add(p.getFileName().toString());
            try {
                writePlot(outDir.resolve(MonitorPlots.NORMS), records, files, "replay " + policy.spec());
            } catch (IOException e) {
                throw input("cannot write " + outDir.resolve(MonitorPlots.NORMS) + ": " + e.getMessage());
            }
            out.println(Json.write(summary(records, policy, clipper, tc, outDir, true)));
            out.flush();
            return Main.EXIT_OK;
        }
    }

    // ------------------------------------------------------------------ clip --loss-scale S

    private static final List<String> CLIP_OPTIONS = List.of("--in", "--out", "--op", "--min", "--max", "--max-norm",
            "--norm-type", "--semantics", "--nonfinite", "--backend", "--loss-scale");

    /**
     * {@code gradclip clip ... --loss-scale S}: IN holds G = S·g; the operation's norms and thresholds apply
     * to g = G/S and OUT holds the unscaled, clipped g ({@link LossScaledClip}). Same options, exit codes and
     * JSON fields as {@code clip}, plus {@code "loss_scale"}; {@code args} start with "clip".
     */
    public static int clipWithLossScale(String[] args, PrintStream out, PrintStream err) {
        try {
            return clipLossScaled(args, out, err);
        } catch (BadInput e) {
            err.println("gradclip: " + e.getMessage() + (e.hint ? " (see gradclip --help)" : ""));
            err.flush();
            return Main.EXIT_USAGE;
        } catch (RuntimeException | OutOfMemoryError e) {
            err.println("gradclip: internal error: " + e);
            err.flush();
            return Main.EXIT_INTERNAL;
        }
    }

    private static int clipLossScaled(String[] args, PrintStream out, PrintStream err) throws BadInput {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw usage("unexpected argument '" + a + "'");
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (eq >= 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (!CLIP_OPTIONS.contains(name)) throw usage("unknown option '" + name + "'");
            if (value == null) {
                if (i + 1 >= args.length) throw usage("option " + name + " needs a value");
                value = args[++i];
            }
            if (o.containsKey(name)) throw usage("option " + name + " given twice");
            o.put(name, value);
        }
        String op = o.get("--op");
        if (op == null) throw usage("missing --op");
        double s = number("--loss-scale", o.get("--loss-scale"));
        if (!(s >= Double.MIN_NORMAL) || Double.isInfinite(s)) {
            throw usage("--loss-scale must be a finite number > 0, got '" + o.get("--loss-scale") + "'");
        }
        NonFinitePolicy policy = o.containsKey("--nonfinite")
                ? choice("--nonfinite", o.get("--nonfinite"), NonFinitePolicy.values()) : NonFinitePolicy.PROPAGATE;
        NormType normType = NormType.L2;
        if (o.containsKey("--norm-type")) {
            double p = number("--norm-type", o.get("--norm-type"));
            if (!(p > 0)) throw usage("--norm-type must be 1, 2, inf or a real number > 0, got '" + o.get("--norm-type") + "'");
            normType = NormType.of(p);
        }
        Semantics semantics = o.containsKey("--semantics")
                ? choice("--semantics", o.get("--semantics"), Semantics.values()) : Semantics.TORCH;
        boolean isNorms = op.equals("norms");
        ClipOperation operation;
        ValueClip valueClip = null;
        NormClip normClip = null;
        switch (op) {
            case "value": {
                forbidOpts(o, op, "--max-norm", "--semantics", "--norm-type");
                if (!o.containsKey("--max")) throw usage("missing --max");
                double max = number("--max", o.get("--max"));
                try {
                    valueClip = (o.containsKey("--min") ? ValueClip.between(number("--min", o.get("--min")), max)
                            : ValueClip.symmetric(max)).withNonFinite(policy);
                } catch (IllegalArgumentException e) {
                    throw usage(e.getMessage());
                }
                operation = new ClipOperation.ByValue(valueClip);
                break;
            }
            case "norm":
            case "global-norm": {
                forbidOpts(o, op, "--min", "--max");
                if (!o.containsKey("--max-norm")) throw usage("missing --max-norm");
                try {
                    normClip = new NormClip(number("--max-norm", o.get("--max-norm")), normType, semantics, policy);
                } catch (IllegalArgumentException e) {
                    throw usage("--max-norm: " + e.getMessage());
                }
                operation = op.equals("norm") ? new ClipOperation.ByNorm(normClip) : new ClipOperation.ByGlobalNorm(normClip);
                break;
            }
            case "norms":
                forbidOpts(o, op, "--min", "--max", "--max-norm", "--semantics", "--out");
                operation = new ClipOperation.Norms(normType, policy);
                break;
            default:
                throw usage("unknown --op '" + op + "' (expected value, norm, global-norm or norms)");
        }
        if (!o.containsKey("--in")) throw usage("missing --in");
        Path in = path(o.get("--in"), "--in");
        Path outPath = null;
        if (!isNorms) {
            if (!o.containsKey("--out")) throw usage("missing --out");
            outPath = path(o.get("--out"), "--out");
            if (Files.isDirectory(outPath)) throw input("--out " + outPath + " is a directory");
            Path dir = outPath.toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir)) throw input("--out " + outPath + ": the directory " + dir + " does not exist");
        }
        Backend backend = Backend.AUTO;
        if (o.containsKey("--backend")) {
            try {
                backend = Backend.parse(o.get("--backend"));
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
        }
        Clipper clipper;
        try {
            clipper = Clipper.create(backend);
        } catch (IllegalStateException e) {
            throw input(e.getMessage());
        }
        try (clipper) {
            NpzArchive archive = read(in, "--in");
            List<Object> data = new ArrayList<>();
            List<Tensor> tensors = new ArrayList<>();
            for (NamedArray a : archive.arrays()) {
                Object d = a.data();
                data.add(d);
                tensors.add(tensor(d));
            }
            GradientSet grads = GradientSet.of(tensors);
            LossScaledClip.Result r;
            try {
                r = LossScaledClip.apply(clipper, grads, operation, s);
            } catch (NonFiniteGradientException e) {
                Json.Obj j = Json.object().put("backend", clipper.backend().cliName()).put("op", op).put("loss_scale", s)
                        .put("out", null).put("error", e.getMessage());
                out.println(Json.write(j));
                out.flush();
                err.println("gradclip: " + e.getMessage() + (outPath != null ? "; " + outPath + " was not written" : ""));
                err.flush();
                return Main.EXIT_NONFINITE;
            } catch (IllegalArgumentException e) {
                throw input(e.getMessage());
            }
            if (outPath != null) {
                List<NamedArray> result = new ArrayList<>();
                for (int t = 0; t < data.size(); t++) result.add(archive.arrays().get(t).withData(data.get(t)));
                try {
                    NpzWriter.write(outPath, result, archive.compressed());
                } catch (NpzException e) {
                    throw input(e.getMessage());
                }
            }
            boolean hasNorms = valueClip == null;
            Json.Obj j = Json.object();
            j.put("backend", clipper.backend().cliName());
            j.put("op", op);
            j.put("total_norm", hasNorms ? (Object) r.totalNorm() : null);
            j.put("scale", r.scale());
            j.put("tensor_norms", hasNorms ? r.tensorNorms() : null);
            j.put("clipped_elements", r.clippedElements());
            j.put("nonfinite_elements", r.nonFiniteElements());
            j.put("skipped", r.skipped());
            j.put("tensor_names", archive.names());
            j.put("tensor_scales", r.tensorScales());
            j.put("total_elements", r.totalElements());
            j.put("clipped_fraction", r.totalElements() == 0 ? 0.0 : (double) r.clippedElements() / r.totalElements());
            j.put("norm_type", hasNorms ? normType.toString() : null);
            j.put("semantics", normClip == null ? null : normClip.semantics().name().toLowerCase(Locale.ROOT));
            j.put("max_norm", normClip == null ? null : (Object) normClip.maxNorm());
            j.put("min", valueClip == null ? null : (Object) valueClip.min());
            j.put("max", valueClip == null ? null : (Object) valueClip.max());
            j.put("nonfinite", policy.name().toLowerCase(Locale.ROOT));
            j.put("compressed", archive.compressed());
            j.put("backend_reason", clipper.selectionReason());
            j.put("loss_scale", s);
            j.put("out", outPath == null ? null : outPath.toString());
            out.println(Json.write(j));
            out.flush();
            return Main.EXIT_OK;
        }
    }

    /** Whether a {@code clip} command line sets {@code --loss-scale} (and no help flag). */
    static boolean hasLossScale(String[] args) {
        boolean ls = false;
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) return false;
            if (a.equals("--loss-scale") || a.startsWith("--loss-scale=")) ls = true;
        }
        return ls;
    }

    private static void forbidOpts(Map<String, String> o, String op, String... names) throws BadInput {
        for (String n : names) {
            if (o.containsKey(n)) throw usage(n + " does not apply to --op " + op);
        }
    }

    // ------------------------------------------------------------------ the plot

    /**
     * Writes DIR/norms.png: the total norm per step with the threshold, drawn by the monitor's
     * {@link MonitorPlots#writeNormPlot} from one {@link StepObservation} per {@link StepRecord}.
     *
     * @throws IOException if the image cannot be written
     */
    static void writePlot(Path png, List<StepRecord> records, List<String> files, String title) throws IOException {
        List<StepObservation> obs = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            StepRecord r = records.get(i);
            obs.add(StepObservation.builder(r.step(), r.totalNorm())
                    .file(files.get(i))
                    .tensorNorms(r.tensorNorms())
                    .threshold(r.threshold())
                    .scale(r.scale())
                    .clipped(r.clipped())
                    .skipped(r.skipped())
                    .nonFiniteElements(r.nonFiniteElements())
                    .foundInf(r.foundInf())
                    .build());
        }
        MonitorPlots.writeNormPlot(obs, png, title);
    }

    // ------------------------------------------------------------------ helpers

    private static Json.Obj summary(List<StepRecord> rs, ClipPolicy policy, Clipper clipper, TrainingClipper tc, Path outDir,
                                    boolean plotted) {
        long clipped = 0;
        long skipped = 0;
        long foundInf = 0;
        double maxNorm = Double.NEGATIVE_INFINITY;
        for (StepRecord r : rs) {
            if (r.clipped()) clipped++;
            if (r.skipped()) skipped++;
            if (r.foundInf()) foundInf++;
            if (Double.isFinite(r.totalNorm())) maxNorm = Math.max(maxNorm, r.totalNorm());
        }
        StepRecord last = rs.get(rs.size() - 1);
        return Json.object()
                .put("command", "replay")
                .put("backend", clipper.backend().cliName())
                .put("policy", policy.spec())
                .put("steps", (long) rs.size())
                .put("clipped_steps", clipped)
                .put("skipped_steps", skipped)
                .put("found_inf_steps", foundInf)
                .put("max_total_norm", maxNorm == Double.NEGATIVE_INFINITY ? null : (Object) maxNorm)
                .put("last_total_norm", last.totalNorm())
                .put("last_threshold", last.hasThreshold() ? (Object) last.threshold() : null)
                .put("loss_scale", tc.lossScale())
                .put("out_dir", outDir.toString())
                .put("log", outDir.resolve("log.jsonl").toString())
                .put("plot", plotted ? outDir.resolve("norms.png").toString() : null);
    }

    private static void writeLog(Path outDir, List<String> lines) throws BadInput {
        Path target = outDir.resolve("log.jsonl");
        Path tmp = outDir.resolve(".log.jsonl.tmp");
        StringBuilder sb = new StringBuilder();
        for (String l : lines) sb.append(l).append('\n');
        try {
            Files.write(tmp, sb.toString().getBytes(StandardCharsets.UTF_8));
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw input("cannot write " + target + ": " + e.getMessage());
        }
    }

    private static void progress(PrintStream err, String what, int i, int n) {
        int every = Math.max(1, n / 20);
        if (n >= 20 && ((i + 1) % every == 0 || i + 1 == n)) {
            err.println("gradclip replay: " + what + " " + (i + 1) + "/" + n);
            err.flush();
        }
    }

    private static NpzArchive read(Path p, String what) throws BadInput {
        try {
            return NpzReader.read(p);
        } catch (NpzException e) {
            throw input(what + " " + e.getMessage());
        }
    }

    private static void checkParams(NpzArchive params, NpzArchive step, Path stepPath) throws BadInput {
        for (NamedArray g : step.arrays()) {
            NamedArray p = params.get(g.name()).orElse(null);
            if (p == null) throw input("--params has no array '" + g.name() + "' (in " + stepPath + ")");
            if (!Arrays.equals(p.shape(), g.shape())) {
                throw input("shape mismatch: '" + g.name() + "' is " + NamedArray.shapeString(g.shape()) + " in " + stepPath
                        + " but " + NamedArray.shapeString(p.shape()) + " in --params");
            }
        }
        if (params.size() != step.size()) {
            throw input("--params has " + params.size() + " arrays, " + stepPath + " " + step.size() + ": names must match");
        }
    }

    private static void sameLayout(NpzArchive first, Path firstPath, NpzArchive a, Path p) throws BadInput {
        if (!first.names().equals(a.names())) {
            throw input(p + " has the arrays " + a.names() + ", " + firstPath + " " + first.names() + ": every step needs the same");
        }
        for (int t = 0; t < a.size(); t++) {
            NamedArray x = first.arrays().get(t);
            NamedArray y = a.arrays().get(t);
            if (!Arrays.equals(x.shape(), y.shape()) || x.dtype() != y.dtype()) {
                throw input("shape mismatch: '" + y.name() + "' is " + y.dtypeName() + NamedArray.shapeString(y.shape()) + " in " + p
                        + " but " + x.dtypeName() + NamedArray.shapeString(x.shape()) + " in " + firstPath);
            }
        }
    }

    private static boolean hasNonFinite(Object data) {
        if (data instanceof float[]) {
            for (float v : (float[]) data) if (!Float.isFinite(v)) return true;
        } else if (data instanceof double[]) {
            for (double v : (double[]) data) if (!Double.isFinite(v)) return true;
        } else {
            for (short v : (short[]) data) if ((v & 0x7c00) == 0x7c00) return true;
        }
        return false;
    }

    private static Tensor tensor(Object data) {
        if (data instanceof float[]) return Tensor.of((float[]) data);
        if (data instanceof double[]) return Tensor.of((double[]) data);
        return Tensor.of((short[]) data, DType.FLOAT16);
    }

    /** A decimal number, or inf/infinity with an optional sign; NaN, hex and suffixed forms are rejected. */
    private static double number(String option, String text) throws BadInput {
        String t = text.trim();
        if (!t.matches("[+-]?(?:(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?|inf|infinity)")
                && !t.toLowerCase(Locale.ROOT).matches("[+-]?(inf|infinity)")) {
            throw usage(option + " needs a number, got '" + text + "'");
        }
        String lower = t.toLowerCase(Locale.ROOT);
        if (lower.endsWith("inf") || lower.endsWith("infinity")) {
            return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        return Double.parseDouble(t);
    }

    private static Path path(String text, String option) throws BadInput {
        if (text.isEmpty()) throw usage(option + " needs a file name");
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw usage(option + " '" + text + "' is not a valid path: " + e.getReason());
        }
    }

    private static <E extends Enum<E>> E choice(String option, String text, E[] values) throws BadInput {
        StringBuilder names = new StringBuilder();
        for (E v : values) {
            String n = v.name().toLowerCase(Locale.ROOT);
            if (n.equals(text.trim().toLowerCase(Locale.ROOT))) return v;
            names.append(names.length() == 0 ? "" : ", ").append(n);
        }
        throw usage("unknown " + option + " '" + text + "' (expected " + names + ")");
    }
}
