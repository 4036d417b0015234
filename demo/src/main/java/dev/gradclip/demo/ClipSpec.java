package dev.gradclip.demo;

import dev.gradclip.ClipOperation;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.Semantics;
import dev.gradclip.ValueClip;
import java.util.List;
import java.util.Locale;

/**
 * One clipping configuration of a run, spelled as on the command line and in {@code summary.json}, and the
 * library's {@link ClipOperation} it runs at each step ({@link #operation}):
 * {@code none}, {@code value:3}, {@code norm:1} (per tensor, TF/Keras {@code clipnorm}), {@code layer-norm:1}
 * (per layer, DL4J {@code ClipL2PerLayer}), {@code global-norm:1} (PyTorch {@code clip_grad_norm_}),
 * {@code global-norm-tf:1} ({@code tf.clip_by_global_norm}, Keras {@code global_clipnorm}), or a threshold policy
 * of the library ({@code autoclip:10}, {@code zclip:2.5}, {@code cosine:5:1:1000}, ...: a global-norm clip,
 * PyTorch semantics, to the threshold the policy sets at each step).
 *
 * <p>Thresholds (fixed or from a policy) are in the units of the <em>batch-mean</em> gradient (the gradient of the
 * mean loss, which is what Keras, PyTorch and DL4J's own {@code GradientNormalization} clip); see
 * {@link GradClipListener} for how they are converted to the summed gradient DL4J holds when the listener runs.
 *
 * @param kind the operation
 * @param threshold the fixed threshold (NaN for none and for policies)
 * @param policy the policy's spelling for {@link Kind#POLICY}, else null
 */
public record ClipSpec(Kind kind, double threshold, String policy) {

    public enum Kind {
        NONE("none"),
        VALUE("value"),
        TENSOR_NORM("norm"),
        LAYER_NORM("layer-norm"),
        GLOBAL_NORM("global-norm"),
        GLOBAL_NORM_TF("global-norm-tf"),
        /** A threshold policy of the library, clipping by global norm. */
        POLICY("policy");

        final String label;

        Kind(String label) { this.label = label; }

        /** Whether this clips by a norm (per tensor, per layer or global), as opposed to none or by value. */
        public boolean isNorm() { return this != NONE && this != VALUE; }
    }

    /** The names that start a policy spelling. */
    static final List<String> POLICY_NAMES = List.of("fixed", "linear", "cosine", "stepdecay", "autoclip", "zclip");

    public static final ClipSpec NONE = new ClipSpec(Kind.NONE, Double.NaN, null);

    public ClipSpec {
        if (kind == null) throw new NullPointerException("kind");
        if (kind == Kind.POLICY) {
            if (policy == null) throw new NullPointerException("policy");
            PolicyThresholds.of(policy); // fails on a malformed spelling, before any run starts
        } else if (policy != null) {
            throw new IllegalArgumentException(kind.label + " takes no policy");
        }
        if (kind != Kind.NONE && kind != Kind.POLICY && !(threshold > 0 && Double.isFinite(threshold))) {
            throw new IllegalArgumentException(kind.label + " threshold must be finite and > 0, got " + threshold);
        }
    }

    public ClipSpec(Kind kind, double threshold) {
        this(kind, threshold, null);
    }

    public static ClipSpec value(double v) { return new ClipSpec(Kind.VALUE, v); }

    public static ClipSpec tensorNorm(double m) { return new ClipSpec(Kind.TENSOR_NORM, m); }

    public static ClipSpec layerNorm(double m) { return new ClipSpec(Kind.LAYER_NORM, m); }

    public static ClipSpec globalNorm(double m) { return new ClipSpec(Kind.GLOBAL_NORM, m); }

    public static ClipSpec globalNormTf(double m) { return new ClipSpec(Kind.GLOBAL_NORM_TF, m); }

    /** A library threshold policy, e.g. {@code autoclip:10} or {@code zclip:2.5:0.97:25}. */
    public static ClipSpec policy(String spec) {
        return new ClipSpec(Kind.POLICY, Double.NaN, spec.trim().toLowerCase(Locale.ROOT));
    }

    /** Parses the label form, e.g. {@code value:3}, {@code global-norm:1} or {@code autoclip:10}. */
    public static ClipSpec parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("none")) return NONE;
        int first = t.indexOf(':');
        if (first > 0 && POLICY_NAMES.contains(t.substring(0, first))) return policy(t);
        int colon = t.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("clipping '" + text + "': expected none, KIND:THRESHOLD or a policy");
        String k = t.substring(0, colon);
        double v = Double.parseDouble(t.substring(colon + 1));
        for (Kind kind : Kind.values()) {
            if (kind != Kind.POLICY && kind.label.equals(k)) return new ClipSpec(kind, v);
        }
        throw new IllegalArgumentException("clipping '" + text + "': unknown kind '" + k
                + "' (none, value, norm, layer-norm, global-norm, global-norm-tf, or a policy: " + POLICY_NAMES + ")");
    }

    /** {@code none}, {@code value:3}, {@code global-norm:1}, {@code norm:0.5}, {@code autoclip:10}, ... */
    public String label() {
        if (kind == Kind.NONE) return "none";
        if (kind == Kind.POLICY) return policy;
        return kind.label + ":" + formatNumber(threshold);
    }

    /**
     * The library operation this spec runs at a step whose threshold is {@code threshold} (batch-mean units: the
     * spec's own, or the policy's for the step), on a gradient scaled by {@code factor} (the minibatch size B for DL4J's
     * summed gradient, 1 for {@link GradClipListener.Units#RAW}): {@code none} → {@link ClipOperation.Norms} (L2),
     * {@code value:v} → {@link ClipOperation.ByValue} [−v·B, v·B], {@code norm:M} → {@link ClipOperation.ByNorm}
     * (M·B, TF semantics), {@code global-norm:M} / {@code global-norm-tf:M} → {@link ClipOperation.ByGlobalNorm} (M·B,
     * PyTorch / TF semantics), {@code layer-norm:M} → {@link ClipOperation.ByGlobalNorm} (M·B, TF semantics), which the
     * listener applies to each layer's set; a policy → {@link ClipOperation.ByGlobalNorm} (M_t·B, PyTorch semantics),
     * or {@link ClipOperation.Norms} when the policy set no threshold (NaN) this step.
     */
    public ClipOperation operation(double threshold, double factor) {
        if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("factor must be finite and > 0, got " + factor);
        return switch (kind) {
            case NONE -> new ClipOperation.Norms(NormType.L2, NonFinitePolicy.PROPAGATE);
            case VALUE -> new ClipOperation.ByValue(ValueClip.symmetric(threshold * factor));
            case TENSOR_NORM -> new ClipOperation.ByNorm(normClip(threshold * factor, Semantics.TF));
            case LAYER_NORM, GLOBAL_NORM_TF -> new ClipOperation.ByGlobalNorm(normClip(threshold * factor, Semantics.TF));
            case GLOBAL_NORM -> new ClipOperation.ByGlobalNorm(normClip(threshold * factor, Semantics.TORCH));
            case POLICY -> Double.isNaN(threshold) ? new ClipOperation.Norms(NormType.L2, NonFinitePolicy.PROPAGATE)
                    : new ClipOperation.ByGlobalNorm(normClip(threshold * factor, Semantics.TORCH));
        };
    }

    private static NormClip normClip(double maxNorm, Semantics semantics) {
        return new NormClip(maxNorm, NormType.L2, semantics, NonFinitePolicy.PROPAGATE);
    }

    /** Whether the threshold can change from step to step (a policy). */
    public boolean adaptive() { return kind == Kind.POLICY; }

    static String formatNumber(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }

    @Override
    public String toString() { return label(); }
}
