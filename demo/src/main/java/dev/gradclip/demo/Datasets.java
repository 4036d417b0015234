package dev.gradclip.demo;

import dev.gradclip.integration.demo.RegressionData;
import java.util.Random;

/**
 * Synthetic data for the seed experiments, generated in Java from a fixed seed. The exploding regression's data
 * is {@link RegressionData} (integrations/common), the same generator as the DJL and libtorch demos'.
 */
public final class Datasets {
    private Datasets() { }

    /** Token ids row-major {@code [n][length]} (as floats, DL4J's embedding input) and 0/1 labels. */
    public record Sequences(float[] tokens, float[] labels, int n, int length, int vocab) { }

    /**
     * The regression with standardized targets ((y − mean)/std over all examples) and corrupted labels: each of the
     * first {@code corruptible} examples (the training part; the validation part stays clean) has its target
     * multiplied by {@code magnitude} with probability {@code fraction} (a fixed-seed draw). A minibatch holding one
     * such example has a gradient spike of about {@code magnitude} times the usual size.
     *
     * @return the new data and, in {@code corrupted}, how many targets were changed
     */
    public static Outliers withOutliers(RegressionData r, double fraction, double magnitude, int corruptible, long seed) {
        float[] y = r.y().clone();
        double mean = 0;
        for (float v : y) mean += v;
        mean /= y.length;
        double var = 0;
        for (float v : y) var += (v - mean) * (v - mean);
        double sd = Math.sqrt(var / y.length);
        for (int i = 0; i < y.length; i++) y[i] = (float) ((y[i] - mean) / sd);
        java.util.Random rnd = new java.util.Random(seed);
        int corrupted = 0;
        for (int i = 0; i < Math.min(corruptible, y.length); i++) {
            if (rnd.nextDouble() < fraction) {
                y[i] = (float) (y[i] * magnitude);
                corrupted++;
            }
        }
        return new Outliers(new RegressionData(r.x(), y, r.n(), r.d()), corrupted);
    }

    /** A regression with corrupted labels, and how many. */
    public record Outliers(RegressionData data, int corrupted) { }

    /**
     * A synthetic stand-in for Keras' IMDB sentiment set, with its shape: a {@code vocab}-token vocabulary
     * (0 = padding, 1 = start, 2 = out-of-vocabulary as in {@code imdb.load_data}), reviews of 50 to ~1000 tokens
     * (log-normal, median ~180 like IMDB), padded or truncated to {@code length} keeping the end
     * ({@code pad_sequences} defaults). Filler tokens follow a Zipf law; 150 positive and 150 negative
     * sentiment-bearing tokens of middling frequency are scattered through each review (about one token in
     * eight), each agreeing with the review's hidden leaning with probability 0.8. The label is decided by the
     * tokens of the whole review: 1 when it holds more positive than negative sentiment tokens (ties are
     * redrawn). A model sees only the last {@code length} tokens, so the best reachable accuracy is below 100%.
     */
    public static Sequences sentiment(int n, int length, int vocab, long seed) {
        Random rnd = new Random(seed);
        int first = 3;
        int sentimentWords = 150;
        // Sentiment tokens sit at ranks 200..499 (ids 203..502), alternating positive/negative.
        int sentStart = first + 200;
        double[] zipfCdf = zipfCdf(vocab - first, 1.05);
        float[] tokens = new float[n * length];
        float[] labels = new float[n];
        int[] review = new int[2000];
        for (int i = 0; i < n; i++) {
            int len;
            int pos;
            int neg;
            do {
                len = (int) Math.min(1000, Math.max(50, Math.exp(Math.log(180) + 0.6 * rnd.nextGaussian())));
                boolean leaning = rnd.nextBoolean();
                pos = 0;
                neg = 0;
                review[0] = 1;
                for (int t = 1; t < len; t++) {
                    if (rnd.nextDouble() < 1.0 / 8) {
                        boolean positive = (rnd.nextDouble() < 0.8) == leaning;
                        int w = rnd.nextInt(sentimentWords);
                        review[t] = sentStart + 2 * w + (positive ? 0 : 1);
                        if (positive) pos++; else neg++;
                    } else {
                        int tok;
                        do {
                            tok = first + sample(zipfCdf, rnd.nextDouble());
                        } while (tok >= sentStart && tok < sentStart + 2 * sentimentWords);
                        review[t] = tok;
                    }
                }
            } while (pos == neg);
            labels[i] = pos > neg ? 1f : 0f;
            int keep = Math.min(len, length);
            int padding = length - keep;
            for (int t = 0; t < keep; t++) tokens[i * length + padding + t] = review[len - keep + t];
        }
        return new Sequences(tokens, labels, n, length, vocab);
    }

    private static double[] zipfCdf(int size, double s) {
        double[] cdf = new double[size];
        double total = 0;
        for (int k = 0; k < size; k++) {
            total += 1.0 / Math.pow(k + 1, s);
            cdf[k] = total;
        }
        for (int k = 0; k < size; k++) cdf[k] /= total;
        return cdf;
    }

    private static int sample(double[] cdf, double u) {
        int lo = 0;
        int hi = cdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] < u) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
