package dev.gradclip.demo;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Nesterovs;

/**
 * {@code demo/run [--quick] [--out DIR] [--backend auto|cpu|cuda|emulated] [--only regression|sentiment]}: the
 * seed experiments in Deeplearning4j with gradclip clipping the real gradients; plots and {@code summary.json}
 * in DIR (default {@code demo-out/}), a line per epoch and a summary table on the terminal.
 */
public final class DemoMain {
    private DemoMain() { }

    /** Sizes of one invocation. */
    record Plan(boolean quick, int regSamples, int regEpochs, int seqReviews, int seqEpochs) {
        static Plan of(boolean quick) {
            return quick ? new Plan(true, 3000, 10, 2500, 3) : new Plan(false, 10_000, 30, 25_000, 5);
        }
    }

    /** One experiment's runs, for the summary. */
    record Experiment(String name, String description, List<Trainer.Run> runs, boolean classification) { }

    public static void main(String[] args) throws IOException {
        boolean quick = false;
        Path out = Paths.get("demo-out");
        Backend backend = Backend.CPU;
        String only = null;
        boolean adam = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--out" -> out = Paths.get(value(args, ++i, "--out"));
                case "--backend" -> backend = Backend.parse(value(args, ++i, "--backend"));
                case "--only" -> only = value(args, ++i, "--only");
                case "--regression-optimizer" -> {
                    String o = value(args, ++i, "--regression-optimizer");
                    if (!o.equals("sgd") && !o.equals("adam")) {
                        System.err.println("demo: --regression-optimizer takes sgd or adam, not '" + o + "'");
                        System.exit(2);
                    }
                    adam = o.equals("adam");
                }
                case "-h", "--help" -> {
                    System.out.println("usage: demo/run [--quick] [--out DIR] [--backend auto|cpu|cuda|emulated] "
                            + "[--only regression|sentiment] [--regression-optimizer sgd|adam]");
                    return;
                }
                default -> {
                    System.err.println("demo: unknown argument '" + args[i] + "' (try --help)");
                    System.exit(2);
                }
            }
        }
        if (only != null && !only.equals("regression") && !only.equals("sentiment")) {
            System.err.println("demo: --only takes regression or sentiment, not '" + only + "'");
            System.exit(2);
        }
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(out);
        Plan plan = Plan.of(quick);
        PrintStream log = System.out;
        long t0 = System.nanoTime();
        List<Experiment> experiments = new ArrayList<>();
        Clipper opened;
        try {
            opened = Clipper.create(backend);
        } catch (IllegalStateException e) {
            System.err.println("demo: gradclip backend " + backend.cliName() + " is not available here: " + e.getMessage()
                    + " (the default, --backend cpu, always is)");
            System.exit(2);
            return;
        }
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        try (Clipper clipper = opened) {
            log.println("gradclip demo" + (quick ? " (--quick)" : "") + ": Deeplearning4j 1.0.0-M2.1 on the CPU, "
                    + "gradclip backend " + clipper.backend().cliName() + " (" + clipper.selectionReason() + "), output "
                    + out.toAbsolutePath());
            if (only == null || only.equals("regression")) experiments.add(regression(plan, clipper, adam, log));
            if (only == null || only.equals("sentiment")) experiments.add(sentiment(plan, clipper, log));
        }
        for (Experiment e : experiments) plot(out, e);
        Files.writeString(out.resolve("summary.json"), Summary.json(experiments, plan), StandardCharsets.UTF_8);
        log.println();
        log.print(Summary.table(experiments));
        log.printf(Locale.ROOT, "%nwrote %s (summary.json and PNG plots) in %.0f s%n", out.toAbsolutePath(),
                (System.nanoTime() - t0) / 1e9);
        for (Experiment e : experiments) {
            if (e.name().equals("exploding-regression")) {
                boolean ok = e.runs().get(0).diverged() && e.runs().stream().skip(1).noneMatch(Trainer.Run::diverged);
                log.println(ok ? "regression: the unclipped run diverged and every clipped run trained, as in the seed."
                        : "regression: WARNING: the expected outcome (unclipped diverges, clipped trains) did not happen.");
            }
        }
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            System.err.println("demo: " + flag + " needs a value");
            System.exit(2);
        }
        return args[i];
    }

    static final String REGRESSION_DESCRIPTION = "make_regression-like data (30 features, 10 informative, noise 0.1, "
            + "targets at their natural scale, std ~180), Dense(25, relu) -> Dense(1), MSE, batch 32, validation split 0.2";

    /**
     * Experiment 2: the exploding regression MLP. SGD with momentum by default: Adam's step is m/sqrt(v), bounded by
     * about the learning rate whatever the gradient's scale, so no target scale makes plain Adam diverge (see
     * {@code --regression-optimizer adam}).
     */
    static Experiment regression(Plan plan, Clipper clipper, boolean adam, PrintStream log) {
        Datasets.Regression r = Datasets.makeRegression(plan.regSamples(), 30, 10, 0.1, 1.0, 1);
        Trainer.Data data = new Trainer.Data(r.x(), new long[]{30}, r.y(), r.n());
        List<Trainer.Run> runs = new ArrayList<>();
        for (ClipSpec clip : List.of(ClipSpec.NONE, ClipSpec.globalNorm(1.0), ClipSpec.value(3.0))) {
            runs.add(Trainer.fit("regression", () -> Models.regressionMlp(30, 25,
                            adam ? new Adam(1e-3) : new Nesterovs(0.01, 0.9), 7),
                    clipper, clip, Trainer.Task.REGRESSION, data, plan.regEpochs(), 32, 0.2, 11, log));
        }
        return new Experiment("exploding-regression", REGRESSION_DESCRIPTION
                + (adam ? ", Adam lr 0.001" : ", SGD lr 0.01 with Nesterov momentum 0.9") + ", " + plan.regSamples() + " samples, "
                + plan.regEpochs() + " epochs", runs, false);
    }

    /** Experiment 1: the sentiment LSTM on the synthetic IMDB-shaped corpus. */
    static Experiment sentiment(Plan plan, Clipper clipper, PrintStream log) {
        Datasets.Sequences s = Datasets.sentiment(plan.seqReviews(), 100, 10_000, 5);
        Trainer.Data data = new Trainer.Data(s.tokens(), new long[]{100}, s.labels(), s.n());
        List<Trainer.Run> runs = new ArrayList<>();
        for (ClipSpec clip : List.of(ClipSpec.NONE, ClipSpec.value(1.0), ClipSpec.globalNorm(1.0))) {
            runs.add(Trainer.fit("sentiment", () -> Models.sentimentLstm(10_000, 32, 32, new Adam(1e-3), 7),
                    clipper, clip, Trainer.Task.BINARY, data, plan.seqEpochs(), 64, 0.2, 13, log));
        }
        return new Experiment("sequence-sentiment", "synthetic IMDB-shaped corpus (" + plan.seqReviews()
                + " reviews, 10,000-token vocabulary, padded/truncated to 100), Embedding(10000, 32) -> LSTM(32) -> "
                + "Dense(1, sigmoid), binary cross-entropy, Adam 1e-3, batch 64, validation split 0.2, "
                + plan.seqEpochs() + " epochs", runs, true);
    }

    static void plot(Path out, Experiment e) throws IOException {
        String n = e.name();
        Plots.perEpoch(out, n + "-loss.png", n + ": loss per epoch (train solid, validation dashed)",
                e.classification() ? "binary cross-entropy" : "mean squared error (log scale)", e.runs(),
                Trainer.Epoch::trainLoss, Trainer.Epoch::valLoss, !e.classification());
        if (e.classification()) {
            Plots.perEpoch(out, n + "-accuracy.png", n + ": accuracy per epoch (train solid, validation dashed)",
                    "accuracy", e.runs(), Trainer.Epoch::trainAccuracy, Trainer.Epoch::valAccuracy, false);
        }
        Plots.gradNorms(out, n + "-grad-norm.png", n + ": gradient norm per step, clipping thresholds dashed", e.runs());
        Plots.clippedFraction(out, n + "-clipped-fraction.png", n + ": fraction of gradients clipped", e.runs(), 20);
    }
}
