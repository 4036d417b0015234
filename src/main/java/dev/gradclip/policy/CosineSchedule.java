package dev.gradclip.policy;

/**
 * A threshold moving from M0 to M1 over N steps along a half cosine ({@code cosine:M0:M1:N}), as
 * cosine learning-rate annealing does:
 * <pre>  M_t = M1 + (M0 − M1)·(1 + cos(π·min(t, N−1)/(N−1)))/2</pre>
 * evaluated in fp64 in that order with {@link StrictMath#cos} (fdlibm: the same bits on every JVM);
 * M0 at step 0, M1 from step N−1 on (exactly: cos π = −1). N = 1 gives M1 from step 0 on.
 *
 * @param start M0, finite and ≥ 0
 * @param end M1, finite and ≥ 0
 * @param steps N ≥ 1
 */
public record CosineSchedule(double start, double end, long steps) implements ThresholdPolicy {
    /**
     * Checks the schedule.
     *
     * @param start M0, finite and ≥ 0
     * @param end M1, finite and ≥ 0
     * @param steps N ≥ 1
     * @throws IllegalArgumentException if M0 or M1 is NaN, negative or infinite, or N &lt; 1
     */
    public CosineSchedule {
        PolicyArgs.requireThreshold("cosine schedule M0", start);
        PolicyArgs.requireThreshold("cosine schedule M1", end);
        if (steps < 1) throw new IllegalArgumentException("cosine schedule N must be >= 1, got " + steps);
    }

    @Override
    public String spec() {
        return "cosine:" + PolicyArgs.fmt(start) + ":" + PolicyArgs.fmt(end) + ":" + steps;
    }

    @Override
    public PolicyState newState() {
        return new PolicyState.Scheduled(this, 0);
    }

    /**
     * {@return M_t by the formula above}
     *
     * @param step t ≥ 0
     * @throws IllegalArgumentException if {@code step} is negative
     */
    public double threshold(long step) {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
        if (steps == 1 || step >= steps - 1) return end;
        double k = step;
        return end + (start - end) * (1.0 + StrictMath.cos(Math.PI * k / (double) (steps - 1))) / 2.0;
    }
}
