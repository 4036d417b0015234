package dev.gradclip;

import java.util.Objects;

/**
 * Clip by value with the {@code torch.clamp} rule that {@code torch.nn.utils.clip_grad_value_} runs (also
 * Keras {@code clipvalue}, DL4J ClipElementWiseAbsoluteValue): bounds rounded to the storage type (to fp32
 * once, then to fp16/bf16), then {@code g_i ← g_i < min ? min : (max < g_i ? max : g_i)} for every element.
 * A NaN compares false and is left as it is (its bits unchanged); a value equal to a bound is kept.
 *
 * @param min lower bound (may be −∞), never NaN
 * @param max upper bound (may be +∞), never NaN, {@code min ≤ max}
 * @param nonFinite what to do when an element is NaN or infinite
 */
public record ValueClip(double min, double max, NonFinitePolicy nonFinite) {
    /**
     * Checks the bounds and the policy.
     *
     * @param min lower bound, not NaN
     * @param max upper bound, not NaN, at least {@code min}
     * @param nonFinite what to do when an element is NaN or infinite
     * @throws IllegalArgumentException if a bound is NaN or {@code min > max}
     */
    public ValueClip {
        if (Double.isNaN(min)) throw new IllegalArgumentException("clip-by-value min is NaN");
        if (Double.isNaN(max)) throw new IllegalArgumentException("clip-by-value max is NaN");
        if (min > max) throw new IllegalArgumentException("clip-by-value min " + min + " is greater than max " + max);
        Objects.requireNonNull(nonFinite, "nonFinite policy is null");
    }

    /**
     * Clamp into {@code [−bound, bound]}, as {@code torch.nn.utils.clip_grad_value_(params, bound)}, with
     * {@link NonFinitePolicy#PROPAGATE}.
     *
     * @param bound the largest magnitude kept, ≥ 0 (may be +∞)
     * @return {@code new ValueClip(−bound, bound, PROPAGATE)}
     * @throws IllegalArgumentException if {@code bound} is NaN or negative
     */
    public static ValueClip symmetric(double bound) {
        if (Double.isNaN(bound) || bound < 0) {
            throw new IllegalArgumentException("clip value must be >= 0, got " + bound);
        }
        return new ValueClip(-bound, bound, NonFinitePolicy.PROPAGATE);
    }

    /**
     * Clamp into {@code [min, max]} with {@link NonFinitePolicy#PROPAGATE}.
     *
     * @param min lower bound, not NaN (may be −∞)
     * @param max upper bound, not NaN (may be +∞), at least {@code min}
     * @return {@code new ValueClip(min, max, PROPAGATE)}
     * @throws IllegalArgumentException if a bound is NaN or {@code min > max}
     */
    public static ValueClip between(double min, double max) {
        return new ValueClip(min, max, NonFinitePolicy.PROPAGATE);
    }

    /**
     * {@return a copy of this clip with another non-finite policy}
     *
     * @param policy what to do when an element is NaN or infinite
     */
    public ValueClip withNonFinite(NonFinitePolicy policy) {
        return new ValueClip(min, max, policy);
    }
}
