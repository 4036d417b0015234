package dev.gradclip.demo;

import dev.gradclip.monitor.Alert;
import java.util.List;
import java.util.Locale;

/** {@code summary.json} and the terminal table. */
final class Summary {
    private Summary() { }

    /** {@code summary.json}; monitor folders relative to {@code out} (the output folder). */
    static String json(List<DemoMain.Experiment> experiments, DemoMain.Plan plan, java.nio.file.Path out) {
        StringBuilder b = new StringBuilder();
        b.append("{\n  \"quick\": ").append(plan.quick()).append(",\n  \"experiments\": [");
        for (int i = 0; i < experiments.size(); i++) {
            DemoMain.Experiment e = experiments.get(i);
            b.append(i == 0 ? "\n" : ",\n");
            b.append("    {\"name\": ").append(str(e.name())).append(", \"description\": ").append(str(e.description()))
                    .append(",\n     \"runs\": [");
            for (int r = 0; r < e.runs().size(); r++) {
                Trainer.Run run = e.runs().get(r);
                Trainer.Epoch last = run.last();
                b.append(r == 0 ? "\n" : ",\n");
                b.append("      {\"clipping\": ").append(str(run.clip().label()))
                        .append(", \"diverged\": ").append(run.diverged())
                        .append(", \"epochs_run\": ").append(run.epochs().size())
                        .append(", \"final_train_loss\": ").append(num(last == null ? null : last.trainLoss()))
                        .append(", \"final_val_loss\": ").append(num(last == null ? null : last.valLoss()))
                        .append(", \"final_val_accuracy\": ").append(num(last == null ? null : last.valAccuracy()))
                        .append(", \"clipped_fraction\": ").append(num(run.clippedFraction()))
                        .append(", \"steps\": ").append(run.steps().size())
                        .append(", \"threshold_median\": ").append(num(medianThreshold(run)))
                        .append(", \"alerts\": {\"exploding\": ").append(run.alerts(Alert.Kind.EXPLODING))
                        .append(", \"vanishing\": ").append(run.alerts(Alert.Kind.VANISHING))
                        .append(", \"non_finite\": ").append(run.alerts(Alert.Kind.NON_FINITE)).append("}")
                        .append(", \"monitor\": ").append(run.monitorDir() == null ? "null" : str(out.relativize(run.monitorDir()).toString()))
                        .append(", \"seconds\": ").append(num(Math.rint(run.seconds() * 10) / 10))
                        .append("}");
            }
            b.append("\n    ]}");
        }
        b.append("\n  ],\n  \"diverged\": [");
        boolean first = true;
        for (DemoMain.Experiment e : experiments) {
            for (Trainer.Run run : e.runs()) {
                if (!run.diverged()) continue;
                b.append(first ? "" : ", ").append(str(e.name() + " " + run.clip().label()));
                first = false;
            }
        }
        b.append("]\n}\n");
        return b.toString();
    }

    /** The median of the run's per-step thresholds (NaN when it never had one). */
    static double medianThreshold(Trainer.Run run) {
        double[] t = run.steps().stream().mapToDouble(StepRecord::threshold).filter(Double::isFinite).sorted().toArray();
        if (t.length == 0) return Double.NaN;
        return t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
    }

    /**
     * Which runs diverged, per experiment, and which adaptive runs (policies) did not where the unclipped run did
     * (whether they trained well is in the table's losses).
     */
    static String verdict(List<DemoMain.Experiment> experiments) {
        StringBuilder b = new StringBuilder();
        for (DemoMain.Experiment e : experiments) {
            List<String> diverged = new java.util.ArrayList<>();
            List<String> adaptiveTrained = new java.util.ArrayList<>();
            boolean unclippedDiverged = false;
            for (Trainer.Run run : e.runs()) {
                if (run.diverged()) diverged.add(run.clip().label());
                if (run.clip().kind() == ClipSpec.Kind.NONE && run.diverged()) unclippedDiverged = true;
                if (run.clip().adaptive() && !run.diverged()) adaptiveTrained.add(run.clip().label());
            }
            b.append(e.name()).append(": ").append(diverged.isEmpty() ? "no run diverged" : "diverged: "
                    + String.join(", ", diverged));
            if (unclippedDiverged && !adaptiveTrained.isEmpty()) {
                b.append("; the unclipped run diverged, the adaptive ").append(String.join(" and ", adaptiveTrained))
                        .append(adaptiveTrained.size() == 1 ? " run" : " runs").append(" did not");
            }
            b.append('.').append('\n');
        }
        return b.toString();
    }

    private static String num(Double v) {
        if (v == null || !Double.isFinite(v)) return "null";
        return Double.toString(v);
    }

    private static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                default -> {
                    if (c < 0x20) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    private static String alertText(Trainer.Run run) {
        long e = run.alerts(Alert.Kind.EXPLODING), v = run.alerts(Alert.Kind.VANISHING), n = run.alerts(Alert.Kind.NON_FINITE);
        if (e + v + n == 0) return "-";
        StringBuilder s = new StringBuilder();
        if (e > 0) s.append(e).append('E');
        if (v > 0) s.append(s.length() > 0 ? " " : "").append(v).append('V');
        if (n > 0) s.append(s.length() > 0 ? " " : "").append(n).append('N');
        return s.toString();
    }

    static String percent(double f) {
        if (f > 0 && f < 0.001) return "<0.1%";
        return String.format(Locale.ROOT, "%.1f%%", 100 * f);
    }

    static String table(List<DemoMain.Experiment> experiments) {
        StringBuilder b = new StringBuilder();
        String fmt = "%-22s %-18s %-9s %-12s %-12s %-8s %-8s %-10s %-8s%n";
        b.append(String.format(Locale.ROOT, fmt, "experiment", "clipping", "diverged", "train loss", "val loss",
                "val acc", "clipped", "threshold", "alerts"));
        for (DemoMain.Experiment e : experiments) {
            for (Trainer.Run run : e.runs()) {
                Trainer.Epoch last = run.last();
                b.append(String.format(Locale.ROOT, fmt, e.name(), run.clip().label(), run.diverged() ? "YES" : "no",
                        last == null ? "-" : Trainer.num(last.trainLoss()),
                        last == null ? "-" : Trainer.num(last.valLoss()),
                        last == null || last.valAccuracy() == null ? "-"
                                : String.format(Locale.ROOT, "%.3f", last.valAccuracy()),
                        percent(run.clippedFraction()),
                        Double.isNaN(medianThreshold(run)) ? "-" : Trainer.num(medianThreshold(run)),
                        alertText(run)));
            }
        }
        b.append("(clipped = mean over steps of the fraction of gradient elements clipping changed; diverged = NaN or "
                + "infinite loss, or a loss beyond 1e6 times its start; threshold = median over steps (per step for "
                + "policies); alerts = the gradient monitor's: E exploding, V vanishing, N non-finite)\n");
        return b.toString();
    }
}
