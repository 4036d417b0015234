package dev.gradclip.djl.demo;

import dev.gradclip.Backend;
import dev.gradclip.Clipper;
import dev.gradclip.NormClip;
import dev.gradclip.ValueClip;
import dev.gradclip.djl.ClipStep;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code integrations/djl/run [--quick] [--out DIR] [--backend cpu|emulated|auto]}: the exploding regression in
 * DJL, without clipping, with global-norm clipping (max norm 1, PyTorch semantics) and with value clipping (3),
 * through {@link dev.gradclip.djl.GradClipListener}. Writes {@code DIR/djl-regression.json} and prints a table.
 * Exit status 0 when the unclipped run diverged and both clipped runs trained, 1 otherwise.
 */
public final class DjlDemo {
    private DjlDemo() {
    }

    public static void main(String[] args) throws IOException {
        boolean quick = false;
        Path out = Path.of("demo-out");
        Backend backend = Backend.CPU;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--out" -> out = Path.of(value(args, ++i, "--out"));
                case "--backend" -> backend = Backend.valueOf(value(args, ++i, "--backend").toUpperCase(Locale.ROOT));
                case "--trainer" -> {
                    String t = value(args, ++i, "--trainer");
                    if (!t.equals("djl")) usage("this is the DJL demo; --trainer is " + t);
                }
                case "-h", "--help" -> usage(null);
                default -> usage("unknown argument '" + args[i] + "'");
            }
        }
        int samples = quick ? 3000 : 10_000;
        int epochs = quick ? 10 : 30;
        PrintStream log = System.out;
        RegressionData data = RegressionData.make(samples, 30, 10, 0.1, 1);
        log.printf("DJL %s (PyTorch engine, CPU): exploding regression, %d samples, %d epochs, SGD lr 0.01 momentum 0.9%n",
                ai.djl.engine.Engine.getDjlVersion(), samples, epochs);
        List<RegressionExperiment.Run> runs = new ArrayList<>();
        try (Clipper clipper = Clipper.create(backend)) {
            log.println("gradclip backend: " + clipper.backend().cliName());
            runs.add(RegressionExperiment.run(data, null, clipper, "none", epochs, 7, log));
            runs.add(RegressionExperiment.run(data, ClipStep.globalNorm(NormClip.of(1.0)), clipper, "global-norm:1", epochs, 7, log));
            runs.add(RegressionExperiment.run(data, ClipStep.byValue(ValueClip.symmetric(3.0)), clipper, "value:3", epochs, 7, log));
        }
        log.println();
        log.printf("%-14s %-9s %-16s %-16s %-10s%n", "clipping", "diverged", "final train loss", "final val loss", "steps clipped");
        for (RegressionExperiment.Run r : runs) {
            RegressionExperiment.Epoch last = r.epochs().get(r.epochs().size() - 1);
            log.printf("%-14s %-9s %-16.4g %-16.4g %-10s%n", r.clipping(),
                    r.diverged() ? "yes (" + r.divergedEpoch() + ")" : "no", last.trainLoss(), last.valLoss(),
                    r.clipping().equals("none") ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * r.clippedSteps() / r.steps()));
        }
        boolean ok = runs.get(0).diverged() && !runs.get(1).diverged() && !runs.get(2).diverged();
        log.println(ok ? "djl: the unclipped run diverged and every clipped run trained."
                : "djl: WARNING: the expected outcome (unclipped diverges, clipped trains) did not happen.");
        Files.createDirectories(out);
        Path json = out.resolve("djl-regression.json");
        Files.writeString(json, toJson(runs, samples, epochs), StandardCharsets.UTF_8);
        log.println("wrote " + json);
        System.exit(ok ? 0 : 1);
    }

    static String toJson(List<RegressionExperiment.Run> runs, int samples, int epochs) {
        StringBuilder b = new StringBuilder();
        b.append("{\"trainer\":\"djl\",\"experiment\":\"exploding-regression\",\"samples\":").append(samples)
                .append(",\"epochs\":").append(epochs).append(",\"runs\":[");
        for (int i = 0; i < runs.size(); i++) {
            RegressionExperiment.Run r = runs.get(i);
            if (i > 0) b.append(',');
            b.append("{\"clipping\":\"").append(r.clipping()).append("\",\"diverged\":").append(r.diverged())
                    .append(",\"steps\":").append(r.steps()).append(",\"clipped_steps\":").append(r.clippedSteps())
                    .append(",\"epochs\":[");
            for (int k = 0; k < r.epochs().size(); k++) {
                RegressionExperiment.Epoch e = r.epochs().get(k);
                if (k > 0) b.append(',');
                b.append("{\"epoch\":").append(e.epoch()).append(",\"train_loss\":").append(num(e.trainLoss()))
                        .append(",\"val_loss\":").append(num(e.valLoss())).append('}');
            }
            b.append("]}");
        }
        return b.append("]}\n").toString();
    }

    private static String num(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) usage(flag + " needs a value");
        return args[i];
    }

    private static void usage(String problem) {
        if (problem != null) System.err.println("djl demo: " + problem);
        System.err.println("usage: bin/gradclip demo --trainer djl [--quick] [--out DIR] [--backend cpu|emulated|auto]");
        System.exit(problem == null ? 0 : 2);
    }
}
