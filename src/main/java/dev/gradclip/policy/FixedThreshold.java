package dev.gradclip.policy;

/**
 * A constant threshold: {@code M_t = M} for every step t ({@code fixed:M}).
 *
 * @param maxNorm M, finite and ≥ 0
 */
public record FixedThreshold(double maxNorm) implements ThresholdPolicy {
    /**
     * Checks M.
     *
     * @param maxNorm M, finite and ≥ 0
     * @throws IllegalArgumentException if {@code maxNorm} is NaN, negative or infinite
     */
    public FixedThreshold {
        PolicyArgs.requireThreshold("fixed threshold M", maxNorm);
    }

    @Override
    public String spec() {
        return "fixed:" + PolicyArgs.fmt(maxNorm);
    }

    @Override
    public PolicyState newState() {
        return new PolicyState.Scheduled(this, 0);
    }

    /**
     * {@return {@code M}, whatever the step}
     *
     * @param step t (not checked: any step has the same threshold)
     */
    public double threshold(long step) {
        return maxNorm;
    }
}
