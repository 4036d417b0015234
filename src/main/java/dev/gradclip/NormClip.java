package dev.gradclip;

import java.util.Objects;

/**
 * A norm threshold: used per tensor by {@link Clipper#clipByNorm} and over the whole set by
 * {@link Clipper#clipByGlobalNorm}. With norm {@code N} and {@code M = maxNorm}, every element is
 * multiplied by {@code semantics.scale(N, M)}: TORCH {@code min(M/(N+1e-6), 1)}, TF {@code M/max(N, M)}.
 *
 * @param maxNorm the threshold M, finite and ≥ 0 (0 zeroes every gradient with TORCH semantics, as torch does)
 * @param normType the p of the norm
 * @param semantics TORCH or TF scale formula
 * @param nonFinite what to do when a norm is NaN or infinite
 */
public record NormClip(double maxNorm, NormType normType, Semantics semantics, NonFinitePolicy nonFinite) {
    /**
     * Checks the threshold.
     *
     * @param maxNorm the threshold M, finite and ≥ 0
     * @param normType the p of the norm
     * @param semantics TORCH or TF scale formula
     * @param nonFinite what to do when a norm is NaN or infinite
     * @throws IllegalArgumentException if {@code maxNorm} is NaN, negative or infinite
     */
    public NormClip {
        if (Double.isNaN(maxNorm)) throw new IllegalArgumentException("max norm is NaN");
        if (maxNorm < 0 || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("max norm must be finite and >= 0, got " + maxNorm);
        }
        Objects.requireNonNull(normType, "norm type is null");
        Objects.requireNonNull(semantics, "semantics is null");
        Objects.requireNonNull(nonFinite, "nonFinite policy is null");
    }

    /**
     * The clip of {@code torch.nn.utils.clip_grad_norm_(params, maxNorm)}: L2 norm, TORCH semantics
     * ({@code scale = min(M / (N + 1e-6), 1)}), PROPAGATE.
     *
     * @param maxNorm the threshold M, finite and ≥ 0
     * @return {@code new NormClip(maxNorm, NormType.L2, Semantics.TORCH, NonFinitePolicy.PROPAGATE)}
     * @throws IllegalArgumentException if {@code maxNorm} is NaN, negative or infinite
     */
    public static NormClip of(double maxNorm) {
        return new NormClip(maxNorm, NormType.L2, Semantics.TORCH, NonFinitePolicy.PROPAGATE);
    }

    /**
     * {@return a copy of this clip with another norm type}
     *
     * @param p the p of the norm
     */
    public NormClip withNormType(NormType p) {
        return new NormClip(maxNorm, p, semantics, nonFinite);
    }

    /**
     * {@return a copy of this clip with another scale formula}
     *
     * @param s TORCH or TF
     */
    public NormClip withSemantics(Semantics s) {
        return new NormClip(maxNorm, normType, s, nonFinite);
    }

    /**
     * {@return a copy of this clip with another non-finite policy}
     *
     * @param policy what to do when a norm is NaN or infinite
     */
    public NormClip withNonFinite(NonFinitePolicy policy) {
        return new NormClip(maxNorm, normType, semantics, policy);
    }
}
