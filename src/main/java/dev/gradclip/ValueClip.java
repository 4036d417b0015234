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
    public ValueClip {
        if (Double.isNaN(min)) throw new IllegalArgumentException("clip-by-value min is NaN");
        if (Double.isNaN(max)) throw new IllegalArgumentException("clip-by-value max is NaN");
        if (min > max) throw new IllegalArgumentException("clip-by-value min " + min + " is greater than max " + max);
        Objects.requireNonNull(nonFinite, "nonFinite policy is null");
    }

    /** Clamp into [−bound, bound], as {@code clip_grad_value_(bound)}; bound must be ≥ 0. */
    public static ValueClip symmetric(double bound) {
        if (Double.isNaN(bound) || bound < 0) {
            throw new IllegalArgumentException("clip value must be >= 0, got " + bound);
        }
        return new ValueClip(-bound, bound, NonFinitePolicy.PROPAGATE);
    }

    /** Clamp into [min, max]. */
    public static ValueClip between(double min, double max) {
        return new ValueClip(min, max, NonFinitePolicy.PROPAGATE);
    }

    public ValueClip withNonFinite(NonFinitePolicy policy) {
        return new ValueClip(min, max, policy);
    }
}
