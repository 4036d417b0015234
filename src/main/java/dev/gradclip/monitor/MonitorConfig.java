package dev.gradclip.monitor;

/**
 * The {@link GradientMonitor}'s alert rules. Immutable; {@link #defaults()} then {@code with…}.
 *
 * <ul>
 *   <li><b>rolling window</b> W (default 100): the last W finite pre-clip total norms, spikes included:
 *       the median ignores isolated spikes, and a lasting change of scale (e.g. once a model starts to
 *       learn) becomes the new normal after W/2 steps instead of alerting forever;
 *   <li><b>exploding</b>: total norm N_t &gt; K × median(window before step t), once the window holds at
 *       least {@code minHistory} norms (defaults K = 10, minHistory = 10);
 *   <li><b>vanishing</b>: a tensor's pre-clip norm below ε for N consecutive steps (defaults ε = 1e-7,
 *       N = 10); raised once, at the N-th step of the run, and again only after the norm has risen to
 *       ε or above; the total norm is watched instead when the step has no per-tensor norms;
 *   <li><b>non-finite</b>: any NaN/±∞ element ({@code nonFiniteElements > 0}), {@code found_inf}, or a
 *       non-finite total norm; raised at every such step.
 * </ul>
 *
 * @param window W ≥ 1, the rolling window's capacity
 * @param explodeFactor K, finite and &gt; 1
 * @param minHistory the finite norms the window must hold before exploding is checked, in [1, W]
 * @param vanishEpsilon ε, finite and ≥ 0
 * @param vanishSteps N ≥ 1, the consecutive steps below ε that raise a vanishing alert
 */
public record MonitorConfig(int window, double explodeFactor, int minHistory, double vanishEpsilon, int vanishSteps) {

    /**
     * Checks the rules.
     *
     * @param window W ≥ 1
     * @param explodeFactor K, finite and &gt; 1
     * @param minHistory in [1, W]
     * @param vanishEpsilon ε, finite and ≥ 0
     * @param vanishSteps N ≥ 1
     * @throws IllegalArgumentException if a value is outside its range (NaN included)
     */
    public MonitorConfig {
        if (window < 1) throw new IllegalArgumentException("rolling window must be >= 1, got " + window);
        if (!(explodeFactor > 1) || Double.isInfinite(explodeFactor)) {
            throw new IllegalArgumentException("exploding factor K must be finite and > 1, got " + explodeFactor);
        }
        if (minHistory < 1 || minHistory > window) {
            throw new IllegalArgumentException("minimum history must be in [1, window = " + window + "], got " + minHistory);
        }
        if (!(vanishEpsilon >= 0) || Double.isInfinite(vanishEpsilon)) {
            throw new IllegalArgumentException("vanishing epsilon must be finite and >= 0, got " + vanishEpsilon);
        }
        if (vanishSteps < 1) throw new IllegalArgumentException("vanishing steps N must be >= 1, got " + vanishSteps);
    }

    /** {@return the default rules: W = 100, K = 10, minHistory = 10, ε = 1e-7, N = 10} */
    public static MonitorConfig defaults() {
        return new MonitorConfig(100, 10.0, 10, 1e-7, 10);
    }

    /**
     * {@return a copy with window W = {@code w}} minHistory is lowered to {@code w} when it is larger.
     *
     * @param w W ≥ 1
     * @throws IllegalArgumentException if {@code w} &lt; 1
     */
    public MonitorConfig withWindow(int w) {
        return new MonitorConfig(w, explodeFactor, Math.min(minHistory, w), vanishEpsilon, vanishSteps);
    }

    /**
     * {@return a copy with another exploding rule}
     *
     * @param k K, finite and &gt; 1
     * @param minHistory in [1, W]
     * @throws IllegalArgumentException if a value is outside its range
     */
    public MonitorConfig withExploding(double k, int minHistory) {
        return new MonitorConfig(window, k, minHistory, vanishEpsilon, vanishSteps);
    }

    /**
     * {@return a copy with another vanishing rule}
     *
     * @param epsilon ε, finite and ≥ 0
     * @param steps N ≥ 1
     * @throws IllegalArgumentException if a value is outside its range
     */
    public MonitorConfig withVanishing(double epsilon, int steps) {
        return new MonitorConfig(window, explodeFactor, minHistory, epsilon, steps);
    }
}
