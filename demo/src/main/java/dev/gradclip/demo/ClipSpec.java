package dev.gradclip.demo;

import java.util.Locale;

/**
 * One clipping configuration of a run, spelled as on the command line and in {@code summary.json}:
 * {@code none}, {@code value:3}, {@code norm:1} (per tensor, TF/Keras {@code clipnorm}), {@code layer-norm:1}
 * (per layer, DL4J {@code ClipL2PerLayer}), {@code global-norm:1} (PyTorch {@code clip_grad_norm_}) or
 * {@code global-norm-tf:1} ({@code tf.clip_by_global_norm}, Keras {@code global_clipnorm}).
 *
 * <p>The threshold is in the units of the <em>batch-mean</em> gradient (the gradient of the mean loss, which is
 * what Keras, PyTorch and DL4J's own {@code GradientNormalization} clip); see {@link GradClipListener} for how it
 * is converted to the summed gradient DL4J holds when the listener runs.
 */
public record ClipSpec(Kind kind, double threshold) {

    public enum Kind {
        NONE("none"),
        VALUE("value"),
        TENSOR_NORM("norm"),
        LAYER_NORM("layer-norm"),
        GLOBAL_NORM("global-norm"),
        GLOBAL_NORM_TF("global-norm-tf");

        final String label;

        Kind(String label) { this.label = label; }

        public boolean isNorm() { return this != NONE && this != VALUE; }
    }

    public static final ClipSpec NONE = new ClipSpec(Kind.NONE, Double.NaN);

    public ClipSpec {
        if (kind == null) throw new NullPointerException("kind");
        if (kind != Kind.NONE && !(threshold > 0 && Double.isFinite(threshold))) {
            throw new IllegalArgumentException(kind.label + " threshold must be finite and > 0, got " + threshold);
        }
    }

    public static ClipSpec value(double v) { return new ClipSpec(Kind.VALUE, v); }

    public static ClipSpec tensorNorm(double m) { return new ClipSpec(Kind.TENSOR_NORM, m); }

    public static ClipSpec layerNorm(double m) { return new ClipSpec(Kind.LAYER_NORM, m); }

    public static ClipSpec globalNorm(double m) { return new ClipSpec(Kind.GLOBAL_NORM, m); }

    public static ClipSpec globalNormTf(double m) { return new ClipSpec(Kind.GLOBAL_NORM_TF, m); }

    /** Parses the label form, e.g. {@code value:3} or {@code global-norm:1}. */
    public static ClipSpec parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("none")) return NONE;
        int colon = t.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("clipping '" + text + "': expected none or KIND:THRESHOLD");
        String k = t.substring(0, colon);
        double v = Double.parseDouble(t.substring(colon + 1));
        for (Kind kind : Kind.values()) {
            if (kind.label.equals(k)) return new ClipSpec(kind, v);
        }
        throw new IllegalArgumentException("clipping '" + text + "': unknown kind '" + k
                + "' (none, value, norm, layer-norm, global-norm, global-norm-tf)");
    }

    /** {@code none}, {@code value:3}, {@code global-norm:1}, {@code norm:0.5}, ... */
    public String label() {
        if (kind == Kind.NONE) return "none";
        return kind.label + ":" + formatNumber(threshold);
    }

    static String formatNumber(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }

    @Override
    public String toString() { return label(); }
}
