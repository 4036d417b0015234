package dev.gradclip.policy;

/**
 * A threshold decayed by a factor every N steps, as PyTorch's {@code StepLR} decays a learning rate:
 * <pre>  M_t = max(M_min, M0·γ^⌊t/N⌋)</pre>
 * with γ^k by {@link StrictMath#pow} in fp64. (Not in the command-line grammar; a library policy.)
 *
 * @param start M0, finite and ≥ 0
 * @param gamma γ in (0, 1]
 * @param every N ≥ 1
 * @param floor M_min, finite and ≥ 0 (0 for none)
 */
public record StepDecaySchedule(double start, double gamma, long every, double floor) implements ThresholdPolicy {
    /**
     * Checks the schedule.
     *
     * @param start M0, finite and ≥ 0
     * @param gamma γ in (0, 1]
     * @param every N ≥ 1
     * @param floor M_min, finite and ≥ 0
     * @throws IllegalArgumentException if a value is outside its range (NaN included)
     */
    public StepDecaySchedule {
        PolicyArgs.requireThreshold("step decay M0", start);
        PolicyArgs.requireThreshold("step decay floor", floor);
        if (!(gamma > 0 && gamma <= 1)) throw new IllegalArgumentException("step decay gamma must be in (0, 1], got " + gamma);
        if (every < 1) throw new IllegalArgumentException("step decay N must be >= 1, got " + every);
    }

    @Override
    public String spec() {
        return "stepdecay:" + PolicyArgs.fmt(start) + ":" + PolicyArgs.fmt(gamma) + ":" + every + ":" + PolicyArgs.fmt(floor);
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
        return Math.max(floor, start * StrictMath.pow(gamma, (double) (step / every)));
    }
}
