package dev.gradclip;

/**
 * What an operation does when it meets a non-finite norm (NaN or infinite) or, for clip by value,
 * a non-finite element. The decision is taken before anything is written.
 */
public enum NonFinitePolicy {
    /** Apply the operation as the peers do: NaN propagates, an infinite norm zeroes (TORCH) or NaNs (TF). */
    PROPAGATE,
    /** Throw {@link NonFiniteGradientException}; no tensor is modified. */
    ERROR,
    /** Leave every tensor untouched and say so in the report ({@link ClipReport#skipped()}). */
    SKIP
}
