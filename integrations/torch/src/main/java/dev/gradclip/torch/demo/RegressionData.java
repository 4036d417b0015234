package dev.gradclip.torch.demo;

import java.util.Random;

/**
 * The exploding regression's data: the same generator, seed and settings as the DL4J demo
 * ({@code demo/src/main/java/dev/gradclip/demo/Datasets.makeRegression}), written again here because this module
 * does not depend on the DL4J demo. Like scikit-learn's {@code make_regression(n, d, informative, noise)}:
 * standard normal features, a linear target over {@code informative} features with coefficients
 * {@code 100 · U(0, 1)} in shuffled positions, plus {@code noise · N(0, 1)}; targets at their natural scale
 * (std ≈ 180), which is what makes unclipped SGD with momentum explode.
 */
public record RegressionData(float[] x, float[] y, int n, int d) {

    public static RegressionData make(int n, int d, int informative, double noise, long seed) {
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
}
