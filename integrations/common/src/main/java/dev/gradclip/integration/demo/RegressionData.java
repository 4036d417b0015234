package dev.gradclip.integration.demo;

import java.util.Arrays;
import java.util.Objects;
import java.util.Random;

/**
 * The exploding regression's data, shared by the DL4J demo ({@code demo/}) and the DJL and libtorch demos: like
 * scikit-learn's {@code make_regression(n, d, informative, noise, random_state)}: standard normal features
 * {@code x_ij ~ N(0, 1)}, coefficients {@code c_j = 100 · U(0, 1)} for {@code informative} features in shuffled
 * positions (0 for the others), targets {@code y_i = Σ_j x_ij · c_j + noise · N(0, 1)} summed in double and
 * rounded once to float, at their natural scale (std ≈ 180 for the demo's 30 features, 10 informative), which is
 * what makes unclipped SGD with momentum explode. One {@link Random} with the given seed draws, in this order,
 * every feature (row-major), the Fisher–Yates shuffle of the feature positions, the coefficients, and each row's
 * noise after its sum.
 *
 * <p>The arrays are not copied (the data sets are large and the training loops read them row by row): treat
 * them as read-only.
 *
 * @param x features, row-major {@code [n][d]}
 * @param y targets {@code [n]}
 * @param n rows
 * @param d features per row
 */
public record RegressionData(float[] x, float[] y, int n, int d) {

    /**
     * @throws NullPointerException if an array is null
     * @throws IllegalArgumentException if {@code n} or {@code d} is negative or the arrays are not {@code n·d} and
     *     {@code n} long
     */
    public RegressionData {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        if (n < 0 || d < 0 || (long) n * d != x.length || y.length != n) {
            throw new IllegalArgumentException("x has " + x.length + " and y " + y.length + " elements for n = " + n
                    + " rows of d = " + d + " features");
        }
    }

    /**
     * Generates the data as described above.
     *
     * @throws IllegalArgumentException if {@code n < 0}, {@code d < 1}, {@code informative} is not in
     *     {@code [0, d]}, {@code n·d} does not fit an array, or {@code noise} is negative or not finite
     */
    public static RegressionData make(int n, int d, int informative, double noise, long seed) {
        if (n < 0 || d < 1 || informative < 0 || informative > d || (long) n * d > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("need n >= 0, d >= 1, 0 <= informative <= d and n * d < 2^31: n = " + n
                    + ", d = " + d + ", informative = " + informative);
        }
        if (!(noise >= 0) || Double.isInfinite(noise)) {
            throw new IllegalArgumentException("noise must be finite and >= 0: " + noise);
        }
        Random rnd = new Random(seed);
        float[] x = new float[n * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        double[] coef = new double[d];
        int[] perm = new int[d];
        for (int i = 0; i < d; i++) perm[i] = i;
        for (int i = d - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int k = 0; k < informative; k++) coef[perm[k]] = 100.0 * rnd.nextDouble();
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += x[i * d + j] * coef[j];
            s += noise * rnd.nextGaussian();
            y[i] = (float) s;
        }
        return new RegressionData(x, y, n, d);
    }

    /** The features of rows {@code [from, to)}, row-major, a copy. */
    public float[] features(int from, int to) {
        Objects.checkFromToIndex(from, to, n);
        return Arrays.copyOfRange(x, from * d, to * d);
    }

    /** The targets of rows {@code [from, to)}, a copy. */
    public float[] targets(int from, int to) {
        Objects.checkFromToIndex(from, to, n);
        return Arrays.copyOfRange(y, from, to);
    }
}
