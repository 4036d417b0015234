package dev.gradclip.monitor;

/**
 * Percentiles with linear interpolation, NumPy's default ({@code method='linear'}): for sorted
 * values x_0 ≤ … ≤ x_{n−1} and P in [0, 100], h = (n − 1)·P/100, and the percentile is
 * x_⌊h⌋ + (h − ⌊h⌋)·(x_⌊h⌋+1 − x_⌊h⌋).
 */
public final class Percentiles {
    private Percentiles() { }

    /**
     * The P-th percentile of {@code sorted} (ascending, finite, not empty), by the formula above in fp64.
     * The order and finiteness of the values are not checked.
     *
     * @param sorted the values, ascending
     * @param p P in [0, 100]
     * @return the percentile: {@code sorted[0]} for P = 0, {@code sorted[n − 1]} for P = 100
     * @throws IllegalArgumentException if {@code sorted} is empty or P is outside [0, 100]
     */
    public static double linear(double[] sorted, double p) {
        if (sorted.length == 0) throw new IllegalArgumentException("percentile of no values");
        if (!(p >= 0 && p <= 100)) throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        double h = (sorted.length - 1) * (p / 100.0);
        int lo = (int) Math.floor(h);
        if (lo >= sorted.length - 1) return sorted[sorted.length - 1];
        double frac = h - lo;
        return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
    }
}
