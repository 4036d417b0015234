package dev.gradclip.demo;

import java.util.List;
import java.util.Locale;

/** {@code summary.json} and the terminal table. */
final class Summary {
    private Summary() { }

    static String json(List<DemoMain.Experiment> experiments, DemoMain.Plan plan) {
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
                        .append(", \"seconds\": ").append(num(Math.rint(run.seconds() * 10) / 10))
                        .append("}");
            }
            b.append("\n    ]}");
        }
        b.append("\n  ]\n}\n");
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

    static String percent(double f) {
        if (f > 0 && f < 0.001) return "<0.1%";
        return String.format(Locale.ROOT, "%.1f%%", 100 * f);
    }

    static String table(List<DemoMain.Experiment> experiments) {
        StringBuilder b = new StringBuilder();
        String fmt = "%-22s %-16s %-9s %-12s %-12s %-8s %-8s%n";
        b.append(String.format(Locale.ROOT, fmt, "experiment", "clipping", "diverged", "train loss", "val loss",
                "val acc", "clipped"));
        for (DemoMain.Experiment e : experiments) {
            for (Trainer.Run run : e.runs()) {
                Trainer.Epoch last = run.last();
                b.append(String.format(Locale.ROOT, fmt, e.name(), run.clip().label(), run.diverged() ? "YES" : "no",
                        last == null ? "-" : Trainer.num(last.trainLoss()),
                        last == null ? "-" : Trainer.num(last.valLoss()),
                        last == null || last.valAccuracy() == null ? "-"
                                : String.format(Locale.ROOT, "%.3f", last.valAccuracy()),
                        percent(run.clippedFraction())));
            }
        }
        b.append("(clipped = mean over steps of the fraction of gradient elements clipping changed; diverged = NaN or "
                + "infinite loss, or a loss beyond 1e6 times its start)\n");
        return b.toString();
    }
}
