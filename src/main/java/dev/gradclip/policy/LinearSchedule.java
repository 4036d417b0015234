package dev.gradclip.policy;

/**
 * A threshold moving linearly from M0 to M1 over N steps ({@code linear:M0:M1:N}):
 * <pre>  M_t = M0 + (M1 − M0)·min(t, N−1)/(N−1)</pre>
 * evaluated in fp64 in exactly that order ({@code M0 + ((M1 − M0)·k)/(N − 1)}, k = min(t, N−1)); M0 at
 * step 0, M1 from step N−1 on. N = 1 gives M1 from step 0 on.
 *
 * @param start M0, finite and ≥ 0
 * @param end M1, finite and ≥ 0
 * @param steps N ≥ 1
 */
public record LinearSchedule(double start, double end, long steps) implements ThresholdPolicy {
    /**
     * Checks the schedule.
     *
     * @param start M0, finite and ≥ 0
     * @param end M1, finite and ≥ 0
     * @param steps N ≥ 1
     * @throws IllegalArgumentException if M0 or M1 is NaN, negative or infinite, or N &lt; 1
     */
    public LinearSchedule {
        PolicyArgs.requireThreshold("linear schedule M0", start);
        PolicyArgs.requireThreshold("linear schedule M1", end);
        if (steps < 1) throw new IllegalArgumentException("linear schedule N must be >= 1, got " + steps);
    }

    @Override
    public String spec() {
        return "linear:" + PolicyArgs.fmt(start) + ":" + PolicyArgs.fmt(end) + ":" + steps;
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
        if (steps == 1) return end;
        double k = Math.min(step, steps - 1);
        return start + (end - start) * k / (double) (steps - 1);
    }
}
