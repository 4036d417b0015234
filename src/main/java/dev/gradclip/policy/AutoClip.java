package dev.gradclip.policy;

/**
 * AutoClip (Seetharaman, Wichern, Pardo, Le Roux, "AutoClip: Adaptive Gradient Clipping for Source
 * Separation Networks", MLSP 2020; {@code autoclip:P[:W]}): each step appends its total norm to the
 * history (only the last W when a window is set), then
 * <pre>  M_t = percentile_P(history)</pre>
 * with NumPy's default linear interpolation ({@code np.percentile(h, P)}, method "linear", computed
 * exactly as NumPy does: sorted x of n values, q = P/100, h = (n−1)·q, i = ⌊h⌋, γ = h − i; the result is
 * x[n−1] when h ≥ n−1, else with d = x[i+1] − x[i]: {@code x[i] + d·γ} when γ &lt; 0.5 and
 * {@code x[i+1] − d·(1 − γ)} otherwise). The gradients are then clipped by global norm to M_t.
 *
 * <p>Decision where the paper is silent: a step whose norm is NaN or infinite, or which was skipped as
 * a spike, is not appended (the authors' code would append it, and a NaN then poisons every later
 * percentile); its threshold is the percentile of the history as it stands (none while it is empty).
 *
 * @param percentile P in [0, 100] (the authors' default is 10)
 * @param window W ≥ 1, the number of most recent norms kept, or 0 for the whole history
 */
public record AutoClip(double percentile, int window) implements ThresholdPolicy {
    /**
     * Checks the parameters.
     *
     * @param percentile P in [0, 100]
     * @param window W ≥ 1, or 0 for the whole history
     * @throws IllegalArgumentException if P is outside [0, 100] (NaN included) or W is negative
     */
    public AutoClip {
        if (!(percentile >= 0 && percentile <= 100)) {
            throw new IllegalArgumentException("AutoClip percentile P must be in [0, 100], got " + percentile);
        }
        if (window < 0) throw new IllegalArgumentException("AutoClip window W must be >= 1 (or 0 for all), got " + window);
    }

    /**
     * {@return AutoClip over the whole history ({@code autoclip:P})}
     *
     * @param percentile P in [0, 100]
     * @throws IllegalArgumentException if P is outside [0, 100] (NaN included)
     */
    public static AutoClip of(double percentile) {
        return new AutoClip(percentile, 0);
    }

    @Override
    public String spec() {
        return "autoclip:" + PolicyArgs.fmt(percentile) + (window > 0 ? ":" + window : "");
    }

    @Override
    public PolicyState newState() {
        return new PolicyState.AutoClipState(this, 0, new double[0]);
    }

    /**
     * {@code np.percentile(values, p)} with the linear method, bit for bit, by the formula of the class
     * comment. The values are not checked: they must be sorted ascending and finite.
     *
     * @param sorted the history, ascending in its first {@code n} elements
     * @param n the number of values used, 1 ≤ n ≤ {@code sorted.length}
     * @param p P in [0, 100]
     * @return the P-th percentile of {@code sorted[0, n)}
     * @throws IllegalArgumentException if {@code n} ≤ 0
     */
    public static double percentileOfSorted(double[] sorted, int n, double p) {
        if (n <= 0) throw new IllegalArgumentException("percentile of an empty history");
        double q = p / 100.0;
        double h = (n - 1) * q;
        if (h >= n - 1) return sorted[n - 1];
        double iFloor = Math.floor(h);
        int i = (int) iFloor;
        double gamma = h - iFloor;
        double a = sorted[i];
        double b = sorted[i + 1];
        double d = b - a;
        return gamma >= 0.5 ? b - d * (1.0 - gamma) : a + d * gamma;
    }
}
