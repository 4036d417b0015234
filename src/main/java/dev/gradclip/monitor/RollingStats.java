package dev.gradclip.monitor;

/**
 * Statistics of the finite pre-clip total norms in the monitor's rolling window (the last
 * {@code window} finite norms, this step's included when finite). Immutable. With {@code count == 0}
 * every statistic is NaN.
 *
 * <ul>
 *   <li>mean = Σx/n; std = √(Σ(x − mean)²/n) (population);
 *   <li>median = the 50th percentile with linear interpolation (NumPy's default: the mean of the
 *       two middle values for even n);
 *   <li>min, max.
 * </ul>
 *
 * @param window the window's capacity W
 * @param count how many norms it holds now, in [0, W]
 * @param mean their mean, Σx/n
 * @param std their population standard deviation, √(Σ(x − mean)²/n)
 * @param median their median, the 50th percentile with linear interpolation
 * @param min the smallest
 * @param max the largest
 */
public record RollingStats(int window, int count, double mean, double std, double median, double min, double max) {

    static RollingStats of(int window, double[] values, int count) {
        if (count == 0) return new RollingStats(window, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        double sum = 0;
        for (int i = 0; i < count; i++) sum += values[i];
        double mean = sum / count;
        double ss = 0;
        for (int i = 0; i < count; i++) ss += (values[i] - mean) * (values[i] - mean);
        double[] sorted = java.util.Arrays.copyOf(values, count);
        java.util.Arrays.sort(sorted);
        return new RollingStats(window, count, mean, Math.sqrt(ss / count), Percentiles.linear(sorted, 50),
                sorted[0], sorted[count - 1]);
    }
}
