package dev.gradclip.policy;

import org.jspecify.annotations.Nullable;

/**
 * What one training step's clipping did: the per-step record the monitor, the DL4J listener and
 * {@code gradclip replay}'s {@code log.jsonl} read. Immutable.
 *
 * <p>JSON mapping ({@code log.jsonl}, one object per line, in this order): {@code step},
 * {@code file} (replay only), {@code total_norm}, {@code threshold} (null when {@link #hasThreshold()}
 * is false), {@code scale}, {@code clipped}, {@code skipped}, {@code found_inf}.
 *
 * <p>A NaN among the numbers is the canonical quiet NaN ({@link Double#NaN}, bits 0x7ff8000000000000), as
 * in every report (docs/canonical-reduction.md): a norm of gradients holding a NaN carries no payload.
 *
 * @param step t, counted from 0
 * @param totalNorm the total norm before clipping, of the unscaled gradients g/S when a loss scale S is
 *     in use (NaN or ∞ when the gradients hold a non-finite element)
 * @param threshold M_t, or NaN when the policy set none this step (ZClip warm-up and steps it does not
 *     clip, AutoClip before its first observation, AGC whose thresholds are per unit)
 * @param scale the clip factor applied on top of the unscaling (1 when not clipped; for AGC the smallest
 *     unit factor); the gradients were multiplied by {@code scale / lossScale}
 * @param clipped whether the clip factor was not 1 and was applied
 * @param skipped whether the gradients were left untouched because the step was skipped (a spike, or a
 *     non-finite norm under {@link dev.gradclip.NonFinitePolicy#SKIP}); the optimizer should skip it
 * @param foundInf whether any gradient element was NaN or infinite
 * @param nonFiniteElements the number of NaN or infinite elements (for AGC: of the gradients)
 * @param lossScale S, the loss scale the gradients were divided by (1 for none)
 * @param tensorNorms each tensor's norm before clipping, of g/S
 */
public record StepRecord(long step, double totalNorm, double threshold, double scale, boolean clipped, boolean skipped,
                         boolean foundInf, long nonFiniteElements, double lossScale, double @Nullable [] tensorNorms) {
    /**
     * Checks the step and copies the norms.
     *
     * @param step t, ≥ 0
     * @param totalNorm the total norm before clipping, of g/S
     * @param threshold M_t, or NaN for none
     * @param scale the clip factor applied on top of the unscaling
     * @param clipped whether the clip factor was not 1 and was applied
     * @param skipped whether the step was skipped
     * @param foundInf whether any gradient element was NaN or infinite
     * @param nonFiniteElements the number of NaN or infinite elements
     * @param lossScale S (1 for none)
     * @param tensorNorms each tensor's norm before clipping, of g/S (copied; null is taken as empty)
     * @throws IllegalArgumentException if {@code step} is negative
     */
    public StepRecord {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0");
        tensorNorms = tensorNorms == null ? new double[0] : tensorNorms.clone();
        totalNorm = canonical(totalNorm);
        threshold = canonical(threshold);
        scale = canonical(scale);
        lossScale = canonical(lossScale);
        for (int i = 0; i < tensorNorms.length; i++) tensorNorms[i] = canonical(tensorNorms[i]);
    }

    private static double canonical(double x) {
        return Double.isNaN(x) ? Double.NaN : x;
    }

    /** {@return whether the policy set a threshold this step ({@code threshold} is not NaN)} */
    public boolean hasThreshold() {
        return !Double.isNaN(threshold);
    }

    /** {@return a copy of the per-tensor norms, in set order} */
    @Override
    public double[] tensorNorms() {
        return tensorNorms.clone();
    }

    /**
     * This record as the JSON object of one {@code log.jsonl} line, with {@code file} when not null.
     * Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity" (as the CLI's JSON does).
     * The per-tensor norms, the non-finite count and the loss scale are not written.
     *
     * @param file the step's source file, written as a JSON string; null to leave the field out
     * @return one line of JSON, without a line break
     */
    public String toJsonLine(@Nullable String file) {
        StringBuilder sb = new StringBuilder(160);
        sb.append("{\"step\":").append(step);
        if (file != null) {
            sb.append(",\"file\":");
            java.util.Map<String, Object> tmp = new java.util.LinkedHashMap<>();
            tmp.put("f", file);
            String w = StateJson.write(tmp);
            sb.append(w, 5, w.length() - 1);
        }
        sb.append(",\"total_norm\":").append(num(totalNorm));
        sb.append(",\"threshold\":").append(hasThreshold() ? num(threshold) : "null");
        sb.append(",\"scale\":").append(num(scale));
        sb.append(",\"clipped\":").append(clipped);
        sb.append(",\"skipped\":").append(skipped);
        sb.append(",\"found_inf\":").append(foundInf);
        sb.append('}');
        return sb.toString();
    }

    private static String num(double d) {
        if (Double.isNaN(d)) return "\"NaN\"";
        if (Double.isInfinite(d)) return d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        return Double.toString(d);
    }
}
