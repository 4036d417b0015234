package dev.gradclip.integration.demo;

import dev.gradclip.ClipReport;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;

/**
 * The exploding regression's training loop, the part every trainer shares: the last {@code round(0.2 · n)} rows
 * held out for validation, each epoch a shuffle of the training rows ({@link Random} seeded with
 * {@value #SHUFFLE_SEED}, Fisher–Yates, one shuffle per epoch), minibatches of {@value #BATCH} rows in that order
 * (the last one shorter), one optimizer step per minibatch, and after each epoch the validation loss. A run has
 * diverged when a batch loss is NaN or infinite, or when {@code |loss| > 1e6 · |first batch loss|}; it then stops
 * after that epoch's validation. The trainer-specific part (model, loss, optimizer, where gradclip runs) is a
 * {@link Model}.
 */
public final class RegressionLoop {
    /** Rows per minibatch. */
    public static final int BATCH = 32;
    /** The seed of the per-epoch shuffles. */
    public static final long SHUFFLE_SEED = 11;
    /** The held-out fraction of the rows (the last ones). */
    public static final double VALIDATION_FRACTION = 0.2;
    /** A batch loss this many times the first batch's (in absolute value) counts as diverged. */
    public static final double DIVERGENCE_FACTOR = 1e6;

    private RegressionLoop() {
    }

    /** One trainer's model under training, as {@link #train} drives it. */
    public interface Model {
        /**
         * One optimizer step on {@code batch}, with the clip step (if any) between the backward pass and the
         * optimizer step.
         *
         * @return the batch's loss, the mean squared error {@code Σ_i (f(x_i) − y_i)² / rows} before the step
         */
        double trainBatch(Minibatch batch);

        /**
         * The mean squared error {@code Σ_i (f(x_i) − y_i)² / rows} of the current model on the held-out rows
         * ({@code x} row-major).
         */
        double validationLoss(float[] x, float[] y, int rows);

        /** The clip reports so far, one per clipped step, oldest first; empty when the run does not clip. */
        List<ClipReport> reports();
    }

    /**
     * One minibatch, gathered from the shuffled training rows.
     *
     * @param x features, row-major {@code [rows][d]}
     * @param y targets {@code [rows]}
     * @param rows rows in this minibatch
     * @param progress training rows of this epoch before this minibatch
     * @param epochRows training rows per epoch
     */
    public record Minibatch(float[] x, float[] y, int rows, int progress, int epochRows) { }

    /** One epoch: mean batch loss, validation loss after the epoch (NaN when nothing is held out), seconds. */
    public record Epoch(int epoch, double trainLoss, double valLoss, double seconds) { }

    /**
     * One run.
     *
     * @param clipping the run's label ({@code none}, {@code global-norm:1}, ...)
     * @param epochs the epochs run (fewer than asked when it diverged)
     * @param diverged whether it diverged
     * @param divergedEpoch the epoch it diverged in, or -1
     * @param steps optimizer steps taken
     * @param clippedSteps steps whose report says the gradients were clipped
     * @param maxNorm the largest total norm reported (0 without reports)
     */
    public record Run(String clipping, List<Epoch> epochs, boolean diverged, int divergedEpoch, long steps,
                      long clippedSteps, double maxNorm) {
        /** @throws NullPointerException if {@code clipping} or {@code epochs} is null */
        public Run {
            Objects.requireNonNull(clipping, "clipping");
            epochs = List.copyOf(epochs);
        }
    }

    /** The rows {@link #train} trains on: {@code n − round(0.2 · n)}. */
    public static int trainingRows(int n) {
        return n - (int) Math.round(n * VALIDATION_FRACTION);
    }

    /**
     * Trains {@code model} on {@code data} for up to {@code epochs} epochs as described above, printing one line per
     * epoch to {@code log} ({@code trainer} and {@code label} name the run there).
     *
     * @throws IllegalArgumentException if {@code epochs < 1} or there are no training rows
     */
    public static Run train(String trainer, String label, RegressionData data, int epochs, Model model, PrintStream log) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(log, "log");
        int nTrain = trainingRows(data.n());
        int nVal = data.n() - nTrain;
        if (epochs < 1 || nTrain < 1) {
            throw new IllegalArgumentException("need epochs >= 1 and training rows: epochs = " + epochs + ", n = " + data.n());
        }
        float[] xVal = data.features(nTrain, data.n());
        float[] yVal = data.targets(nTrain, data.n());
        int d = data.d();
        int[] order = new int[nTrain];
        for (int i = 0; i < nTrain; i++) order[i] = i;
        Random rnd = new Random(SHUFFLE_SEED);
        List<Epoch> out = new ArrayList<>();
        boolean diverged = false;
        int divergedEpoch = -1;
        double firstLoss = Double.NaN;
        long steps = 0;
        for (int e = 1; e <= epochs && !diverged; e++) {
            long t0 = System.nanoTime();
            shuffle(order, rnd);
            double sum = 0;
            int batches = 0;
            for (int from = 0; from < nTrain && !diverged; from += BATCH) {
                int to = Math.min(nTrain, from + BATCH);
                float[] xb = new float[(to - from) * d];
                float[] yb = new float[to - from];
                for (int i = from; i < to; i++) {
                    System.arraycopy(data.x(), order[i] * d, xb, (i - from) * d, d);
                    yb[i - from] = data.y()[order[i]];
                }
                double loss = model.trainBatch(new Minibatch(xb, yb, to - from, from, nTrain));
                steps++;
                if (Double.isNaN(firstLoss)) firstLoss = loss;
                sum += loss;
                batches++;
                if (!Double.isFinite(loss) || Math.abs(loss) > DIVERGENCE_FACTOR * Math.abs(firstLoss)) {
                    diverged = true;
                    divergedEpoch = e;
                }
            }
            double val = nVal == 0 ? Double.NaN : model.validationLoss(xVal, yVal, nVal);
            double secs = (System.nanoTime() - t0) / 1e9;
            out.add(new Epoch(e, sum / batches, val, secs));
            log.printf("%s %-14s epoch %2d/%d  train loss %-12.6g val loss %-12.6g %5.1f s%s%n", trainer, label, e, epochs,
                    sum / batches, val, secs, diverged ? "  DIVERGED (stopping this run)" : "");
        }
        long clipped = 0;
        double maxNorm = 0;
        for (ClipReport r : model.reports()) {
            if (r.clipped()) clipped++;
            if (r.hasNorms()) maxNorm = Math.max(maxNorm, r.totalNorm());
        }
        return new Run(label, out, diverged, divergedEpoch, steps, clipped, maxNorm);
    }

    private static void shuffle(int[] a, Random rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
