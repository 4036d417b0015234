package dev.gradclip.demo;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.integration.demo.RegressionData;
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
 * {@code demo/run [--quick] [--out DIR] [--backend auto|cpu|cuda|emulated] [--only regression|outliers|sentiment]}: the
 * seed experiments in Deeplearning4j with gradclip clipping the real gradients; plots and {@code summary.json}
 * in DIR (default {@code demo-out/}), a line per epoch and a summary table on the terminal.
 */
public final class DemoMain {
    private DemoMain() { }

    /** Sizes of one invocation. */
    record Plan(boolean quick, int regSamples, int regEpochs, int seqReviews, int seqEpochs) {
        static Plan of(boolean quick) {
            return quick ? new Plan(true, 3000, 10, 2000, 3) : new Plan(false, 10_000, 30, 25_000, 5);
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
                            + "[--only regression|outliers|sentiment] [--regression-optimizer sgd|adam]");
                    return;
                }
                default -> {
                    System.err.println("demo: unknown argument '" + args[i] + "' (try --help)");
                    System.exit(2);
                }
            }
        }
        if (only != null && !only.equals("regression") && !only.equals("outliers") && !only.equals("sentiment")) {
            System.err.println("demo: --only takes regression, outliers or sentiment, not '" + only + "'");
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
            if (only == null || only.equals("regression")) experiments.add(regression(plan, clipper, adam, log, out));
            if (only == null || only.equals("outliers")) experiments.add(outliers(plan, clipper, log, out));
            if (only == null || only.equals("sentiment")) experiments.add(sentiment(plan, clipper, log, out));
        }
        for (Experiment e : experiments) plot(out, e);
        Files.writeString(out.resolve("summary.json"), Summary.json(experiments, plan, out), StandardCharsets.UTF_8);
        log.println();
        log.print(Summary.table(experiments));
        log.printf(Locale.ROOT, "%nwrote %s (summary.json and PNG plots) in %.0f s%n", out.toAbsolutePath(),
                (System.nanoTime() - t0) / 1e9);
        log.print(Summary.verdict(experiments));
        log.println("per run: " + out.resolve("runs").toAbsolutePath() + "/EXPERIMENT/RUN/ holds the gradient monitor's "
                + "log.jsonl, log.csv, norms.png, clipped-fraction.png, tensor-norms.png and a TensorBoard event file "
                + "(tensorboard --logdir " + out.resolve("runs") + "; bin/gradclip plot|suggest RUN/log.jsonl)");
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            System.err.println("demo: " + flag + " needs a value");
            System.exit(2);
        }
        return args[i];
    }

    /**
     * The regression's runs: the seed's three, then the two adaptive policies of the library with their authors'
     * defaults: AutoClip at the 10th percentile of all norms so far, ZClip with Z = 2.5, α = 0.97 and a 25-step
     * warm-up. Both set thresholds relative to the run's own norms, which here start far above what SGD at this
     * learning rate tolerates: the experiment shows that they do not replace a threshold in absolute units there.
     */
    static final List<ClipSpec> REGRESSION_RUNS = List.of(ClipSpec.NONE, ClipSpec.globalNorm(1.0), ClipSpec.value(3.0),
            ClipSpec.policy("autoclip:10"), ClipSpec.policy("zclip:2.5"));

    /** The outlier regression's runs: none, a guessed fixed threshold, and the two adaptive policies. */
    static final List<ClipSpec> OUTLIER_RUNS = List.of(ClipSpec.NONE, ClipSpec.globalNorm(1.0),
            ClipSpec.policy("autoclip:10"), ClipSpec.policy("zclip:2.5"));

    /** The sentiment model's runs: the seed's three, then AutoClip and ZClip with their authors' defaults. */
    static final List<ClipSpec> SENTIMENT_RUNS = List.of(ClipSpec.NONE, ClipSpec.value(1.0), ClipSpec.globalNorm(1.0),
            ClipSpec.policy("autoclip:10"), ClipSpec.policy("zclip:2.5"));

    /** --quick leaves out value:1 (it barely clips this model; 0.1% of the elements in the seed sizes) to stay within a few minutes on 2 cores. */
    static final List<ClipSpec> SENTIMENT_RUNS_QUICK = List.of(ClipSpec.NONE, ClipSpec.globalNorm(1.0),
            ClipSpec.policy("autoclip:10"), ClipSpec.policy("zclip:2.5"));

    /** {@code OUT/runs/EXPERIMENT/LABEL} with ':' in the label replaced by '_' (e.g. {@code autoclip_10}). */
    static Path runDir(Path out, String experiment, ClipSpec clip) {
        return out.resolve("runs").resolve(experiment).resolve(clip.label().replace(':', '_'));
    }

    static final String REGRESSION_DESCRIPTION = "make_regression-like data (30 features, 10 informative, noise 0.1, "
            + "targets at their natural scale, std ~180), Dense(25, relu) -> Dense(1), MSE, batch 32, validation split 0.2";

    /**
     * Experiment 2: the exploding regression MLP. SGD with momentum by default: Adam's step is m/sqrt(v), bounded by
     * about the learning rate whatever the gradient's scale, so no target scale makes plain Adam diverge (see
     * {@code --regression-optimizer adam}).
     */
    static Experiment regression(Plan plan, Clipper clipper, boolean adam, PrintStream log, Path out) {
        RegressionData r = RegressionData.make(plan.regSamples(), 30, 10, 0.1, 1);
        Trainer.Data data = new Trainer.Data(r.x(), new long[]{30}, r.y(), r.n());
        List<Trainer.Run> runs = new ArrayList<>();
        for (ClipSpec clip : REGRESSION_RUNS) {
            runs.add(Trainer.fit("regression", () -> Models.regressionMlp(30, 25,
                            adam ? new Adam(1e-3) : new Nesterovs(0.01, 0.9), 7),
                    clipper, clip, Trainer.Task.REGRESSION, data, plan.regEpochs(), 32, 0.2, 11, log,
                    runDir(out, "exploding-regression", clip)));
        }
        return new Experiment("exploding-regression", REGRESSION_DESCRIPTION
                + (adam ? ", Adam lr 0.001" : ", SGD lr 0.01 with Nesterov momentum 0.9") + ", " + plan.regSamples() + " samples, "
                + plan.regEpochs() + " epochs", runs, false);
    }

    static final String OUTLIER_DESCRIPTION = "the regression data with standardized targets and 1% of the training "
            + "targets multiplied by 100 (corrupted labels; validation clean), Dense(25, relu) -> Dense(1), MSE, batch 32, "
            + "validation split 0.2, SGD lr 0.01 with Nesterov momentum 0.9";

    /**
     * Experiment 3 (not in the seed): gradient spikes. The targets are standardized, so the usual gradient is small
     * and SGD at lr 0.01 is stable, but 1% of the training labels are corrupted (x100): a minibatch holding one gives a
     * gradient spike about 100 times the usual, and the unclipped run fails: it diverges, or ends no better than
     * predicting the mean (which of the two within the epochs run depends on the CPU). Adaptive policies clip the
     * spikes relative to the norms they have seen, with no threshold to guess.
     */
    static Experiment outliers(Plan plan, Clipper clipper, PrintStream log, Path out) {
        RegressionData r = RegressionData.make(plan.regSamples(), 30, 10, 0.1, 1);
        int nTrain = r.n() - (int) Math.round(r.n() * 0.2);
        Datasets.Outliers o = Datasets.withOutliers(r, 0.01, 100, nTrain, 3);
        Trainer.Data data = new Trainer.Data(o.data().x(), new long[]{30}, o.data().y(), o.data().n());
        List<Trainer.Run> runs = new ArrayList<>();
        for (ClipSpec clip : OUTLIER_RUNS) {
            runs.add(Trainer.fit("outliers", () -> Models.regressionMlp(30, 25, new Nesterovs(0.01, 0.9), 7),
                    clipper, clip, Trainer.Task.REGRESSION, data, plan.regEpochs(), 32, 0.2, 11, log,
                    runDir(out, "outlier-regression", clip)));
        }
        return new Experiment("outlier-regression", OUTLIER_DESCRIPTION + ", " + plan.regSamples() + " samples ("
                + o.corrupted() + " corrupted), " + plan.regEpochs() + " epochs", runs, false);
    }

    /** Experiment 1: the sentiment LSTM on the synthetic IMDB-shaped corpus. */
    static Experiment sentiment(Plan plan, Clipper clipper, PrintStream log, Path out) {
        Datasets.Sequences s = Datasets.sentiment(plan.seqReviews(), 100, 10_000, 5);
        Trainer.Data data = new Trainer.Data(s.tokens(), new long[]{100}, s.labels(), s.n());
        List<Trainer.Run> runs = new ArrayList<>();
        for (ClipSpec clip : plan.quick() ? SENTIMENT_RUNS_QUICK : SENTIMENT_RUNS) {
            runs.add(Trainer.fit("sentiment", () -> Models.sentimentLstm(10_000, 32, 32, new Adam(1e-3), 7),
                    clipper, clip, Trainer.Task.BINARY, data, plan.seqEpochs(), 64, 0.2, 13, log,
                    runDir(out, "sequence-sentiment", clip)));
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
        Plots.gradNorms(out, n + "-grad-norm.png", n + ": gradient norm per step, thresholds dashed (per step for policies)",
                e.runs());
        Plots.clippedFraction(out, n + "-clipped-fraction.png", n + ": fraction of gradients clipped", e.runs(), 20);
    }
}
