package dev.gradclip.integration.demo;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.NormClip;
import dev.gradclip.ValueClip;
import dev.gradclip.integration.ClipStep;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * {@code bin/gradclip demo --trainer NAME [--quick] [--out DIR] [--backend cpu|emulated|cuda|auto]}, the part every
 * trainer shares: the exploding regression ({@link RegressionData#make make(n, 30, 10, 0.1, 1)}, n = 10,000 and
 * 30 epochs, or 3,000 and 10 with {@code --quick}) trained three times with model seed 7: without clipping, with
 * global-norm clipping ({@code ClipStep.globalNorm(NormClip.of(1.0))}, PyTorch semantics) and with value clipping
 * ({@code ClipStep.byValue(ValueClip.symmetric(3.0))}); then a table, and {@code DIR/NAME-regression.json}
 * (default DIR {@code demo-out}). The outcome is as expected when the unclipped run diverged and both clipped
 * runs did not.
 */
public final class RegressionDemo {
    private RegressionDemo() {
    }

    /**
     * One trainer's side of the demo.
     *
     * @param name the {@code --trainer} value, also the log prefix and the JSON file's prefix ({@code djl}, {@code torch})
     * @param title what trains, for the first line ({@code "DJL 0.36.0 (PyTorch engine, CPU)"})
     * @param optimizer the optimizer, for the first line ({@code "SGD lr 0.01 momentum 0.9"})
     * @param runner trains one model
     */
    public record Trainer(String name, String title, String optimizer, Runner runner) {
        /** @throws NullPointerException if a component is null */
        public Trainer {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(title, "title");
            Objects.requireNonNull(optimizer, "optimizer");
            Objects.requireNonNull(runner, "runner");
        }
    }

    /** Trains one model of a trainer on the data (through {@link RegressionLoop#train}). */
    @FunctionalInterface
    public interface Runner {
        /**
         * @param step the clip step, or null for no clipping
         * @param label the run's name in the log and the results ({@code none}, {@code global-norm:1}, {@code value:3})
         * @param seed the trainer's random seed for the model's initialisation
         */
        RegressionLoop.Run run(RegressionData data, ClipStep step, Clipper clipper, String label, int epochs, long seed,
                               PrintStream log);
    }

    /**
     * The command line, parsed.
     *
     * @param quick 3,000 samples and 10 epochs instead of 10,000 and 30
     * @param out the output directory
     * @param backend the clipper's backend
     * @param help whether {@code -h}/{@code --help} was given
     */
    public record Options(boolean quick, Path out, Backend backend, boolean help) {
        /** Rows of data. */
        public int samples() {
            return quick ? 3000 : 10_000;
        }

        /** Epochs per run. */
        public int epochs() {
            return quick ? 10 : 30;
        }
    }

    /**
     * Parses the command line ({@code --trainer}, when given, must name {@code trainer}).
     *
     * @throws IllegalArgumentException naming the problem
     */
    public static Options parse(String[] args, String trainer) {
        boolean quick = false;
        boolean help = false;
        Path out = Path.of("demo-out");
        Backend backend = Backend.CPU;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--out" -> out = Path.of(value(args, ++i, "--out"));
                case "--backend" -> backend = Backend.parse(value(args, ++i, "--backend"));
                case "--trainer" -> {
                    String t = value(args, ++i, "--trainer");
                    if (!t.equals(trainer)) throw new IllegalArgumentException("this is the " + trainer + " demo; --trainer is " + t);
                }
                case "-h", "--help" -> help = true;
                default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
            }
        }
        return new Options(quick, out, backend, help);
    }

    /**
     * Runs the demo for {@code trainer} with the command line {@code args}, logging to {@code log} (usage and argument
     * problems to {@code err}).
     *
     * @return the exit status: 0 when the unclipped run diverged and both clipped runs trained, 1 when not, 2 for a bad
     *     command line
     * @throws IOException if the JSON file cannot be written
     */
    public static int run(String[] args, Trainer trainer, PrintStream log, PrintStream err) throws IOException {
        Options o;
        try {
            o = parse(args, trainer.name());
        } catch (IllegalArgumentException e) {
            err.println(trainer.name() + " demo: " + e.getMessage());
            err.println(usage(trainer.name()));
            return 2;
        }
        if (o.help()) {
            err.println(usage(trainer.name()));
            return 0;
        }
        RegressionData data = RegressionData.make(o.samples(), 30, 10, 0.1, 1);
        log.printf("%s: exploding regression, %d samples, %d epochs, %s%n", trainer.title(), o.samples(), o.epochs(),
                trainer.optimizer());
        List<RegressionLoop.Run> runs = new ArrayList<>();
        try (Clipper clipper = Clipper.create(o.backend())) {
            log.println("gradclip backend: " + clipper.backend().cliName());
            Runner r = trainer.runner();
            runs.add(r.run(data, null, clipper, "none", o.epochs(), 7, log));
            runs.add(r.run(data, ClipStep.globalNorm(NormClip.of(1.0)), clipper, "global-norm:1", o.epochs(), 7, log));
            runs.add(r.run(data, ClipStep.byValue(ValueClip.symmetric(3.0)), clipper, "value:3", o.epochs(), 7, log));
        }
        log.println();
        log.printf("%-14s %-9s %-16s %-16s %-10s%n", "clipping", "diverged", "final train loss", "final val loss", "steps clipped");
        for (RegressionLoop.Run r : runs) {
            RegressionLoop.Epoch last = r.epochs().get(r.epochs().size() - 1);
            log.printf("%-14s %-9s %-16.4g %-16.4g %-10s%n", r.clipping(),
                    r.diverged() ? "yes (" + r.divergedEpoch() + ")" : "no", last.trainLoss(), last.valLoss(),
                    r.clipping().equals("none") ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * r.clippedSteps() / r.steps()));
        }
        boolean ok = runs.get(0).diverged() && !runs.get(1).diverged() && !runs.get(2).diverged();
        log.println(ok ? trainer.name() + ": the unclipped run diverged and every clipped run trained."
                : trainer.name() + ": WARNING: the expected outcome (unclipped diverges, clipped trains) did not happen.");
        Files.createDirectories(o.out());
        Path json = o.out().resolve(trainer.name() + "-regression.json");
        Files.writeString(json, toJson(trainer.name(), runs, o.samples(), o.epochs()), StandardCharsets.UTF_8);
        log.println("wrote " + json);
        return ok ? 0 : 1;
    }

    /**
     * The results file: {@code {"trainer", "experiment": "exploding-regression", "samples", "epochs", "runs": [{"clipping",
     * "diverged", "steps", "clipped_steps", "epochs": [{"epoch", "train_loss", "val_loss"}]}]}}, a non-finite loss as
     * {@code null}.
     */
    public static String toJson(String trainer, List<RegressionLoop.Run> runs, int samples, int epochs) {
        StringBuilder b = new StringBuilder();
        b.append("{\"trainer\":\"").append(trainer).append("\",\"experiment\":\"exploding-regression\",\"samples\":")
                .append(samples).append(",\"epochs\":").append(epochs).append(",\"runs\":[");
        for (int i = 0; i < runs.size(); i++) {
            RegressionLoop.Run r = runs.get(i);
            if (i > 0) b.append(',');
            b.append("{\"clipping\":\"").append(r.clipping()).append("\",\"diverged\":").append(r.diverged())
                    .append(",\"steps\":").append(r.steps()).append(",\"clipped_steps\":").append(r.clippedSteps())
                    .append(",\"epochs\":[");
            for (int k = 0; k < r.epochs().size(); k++) {
                RegressionLoop.Epoch e = r.epochs().get(k);
                if (k > 0) b.append(',');
                b.append("{\"epoch\":").append(e.epoch()).append(",\"train_loss\":").append(num(e.trainLoss()))
                        .append(",\"val_loss\":").append(num(e.valLoss())).append('}');
            }
            b.append("]}");
        }
        return b.append("]}\n").toString();
    }

    /** The usage line of {@code trainer}'s demo. */
    public static String usage(String trainer) {
        return "usage: bin/gradclip demo --trainer " + trainer + " [--quick] [--out DIR] [--backend cpu|emulated|cuda|auto]";
    }

    private static String num(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) throw new IllegalArgumentException(flag + " needs a value");
        return args[i];
    }
}
