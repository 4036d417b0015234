package dev.gradclip.integration.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

/** The shared loop, driven with a stand-in model that records what it is given. */
class RegressionLoopTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    /** Row i has features (i, -i) and target i, so a row is recognisable in a minibatch. */
    private static RegressionData indexed(int n) {
        float[] x = new float[2 * n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[2 * i] = i;
            x[2 * i + 1] = -i;
            y[i] = i;
        }
        return new RegressionData(x, y, n, 2);
    }

    /** Records the minibatches and validation calls; the batch loss is {@code loss.applyAsDouble(step)}. */
    private static final class Recorder implements RegressionLoop.Model {
        final List<RegressionLoop.Minibatch> batches = new ArrayList<>();
        final List<float[]> validationTargets = new ArrayList<>();
        final List<ClipReport> reports = new ArrayList<>();
        final IntToDoubleFunction loss;

        Recorder(IntToDoubleFunction loss) {
            this.loss = loss;
        }

        @Override
        public double trainBatch(RegressionLoop.Minibatch batch) {
            batches.add(batch);
            return loss.applyAsDouble(batches.size() - 1);
        }

        @Override
        public double validationLoss(float[] x, float[] y, int rows) {
            assertEquals(2 * rows, x.length);
            validationTargets.add(y.clone());
            return 0.5;
        }

        @Override
        public List<ClipReport> reports() {
            return reports;
        }
    }

    @Test
    void everyTrainingRowOncePerEpochInMinibatchesOf32() {
        RegressionData data = indexed(250); // 200 training rows, 50 held out
        assertEquals(200, RegressionLoop.trainingRows(250));
        Recorder m = new Recorder(step -> 1.0);
        RegressionLoop.Run run = RegressionLoop.train("test", "none", data, 3, m, QUIET);
        assertFalse(run.diverged());
        assertEquals(-1, run.divergedEpoch());
        assertEquals(3, run.epochs().size());
        assertEquals(3 * 7, run.steps(), "ceil(200 / 32) = 7 steps per epoch");
        assertEquals(21, m.batches.size());
        List<int[]> epochOrders = new ArrayList<>();
        for (int e = 0; e < 3; e++) {
            int[] seen = new int[200];
            int[] order = new int[200];
            int k = 0;
            for (int b = 0; b < 7; b++) {
                RegressionLoop.Minibatch mb = m.batches.get(7 * e + b);
                assertEquals(b < 6 ? 32 : 8, mb.rows());
                assertEquals(32 * b, mb.progress());
                assertEquals(200, mb.epochRows());
                for (int r = 0; r < mb.rows(); r++) {
                    int row = (int) mb.y()[r];
                    assertEquals(row, mb.x()[2 * r], "features travel with their target");
                    assertEquals(-row, mb.x()[2 * r + 1]);
                    assertTrue(row < 200, "a held-out row was trained on: " + row);
                    seen[row]++;
                    order[k++] = row;
                }
            }
            for (int c : seen) assertEquals(1, c);
            epochOrders.add(order);
        }
        assertFalse(Arrays.equals(epochOrders.get(0), epochOrders.get(1)), "each epoch is shuffled again");
        assertEquals(3, m.validationTargets.size());
        float[] tail = new float[50];
        for (int i = 0; i < 50; i++) tail[i] = 200 + i;
        for (float[] v : m.validationTargets) assertArrayEquals(tail, v, "validation on the last 20%");
        assertEquals(1.0, run.epochs().get(0).trainLoss());
        assertEquals(0.5, run.epochs().get(2).valLoss());
        assertEquals(0, run.clippedSteps());
        assertEquals(0.0, run.maxNorm());
    }

    @Test
    void shufflesDependOnlyOnTheFixedSeed() {
        Recorder a = new Recorder(step -> 1.0);
        Recorder b = new Recorder(step -> 2.0);
        RegressionLoop.train("test", "a", indexed(100), 2, a, QUIET);
        RegressionLoop.train("test", "b", indexed(100), 2, b, QUIET);
        for (int i = 0; i < a.batches.size(); i++) assertArrayEquals(a.batches.get(i).y(), b.batches.get(i).y());
    }

    @Test
    void aLossBeyondAMillionTimesTheFirstDiverges() {
        Recorder m = new Recorder(step -> step == 9 ? 2.5e6 : step == 0 ? -2.0 : 1.0); // epoch 2 (7 steps per epoch)
        RegressionLoop.Run run = RegressionLoop.train("test", "none", indexed(250), 5, m, QUIET);
        assertTrue(run.diverged());
        assertEquals(2, run.divergedEpoch());
        assertEquals(2, run.epochs().size(), "stops after the epoch it diverged in");
        assertEquals(10, run.steps(), "stops at the diverging step");
        assertEquals(2, m.validationTargets.size(), "the diverged epoch is still validated");
        Recorder exact = new Recorder(step -> step == 3 ? -2e6 : step == 0 ? 2.0 : 1.0); // |loss| = 1e6 · |first|
        assertFalse(RegressionLoop.train("test", "none", indexed(250), 1, exact, QUIET).diverged(), "not beyond");
    }

    @Test
    void aNonFiniteLossDiverges() {
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            Recorder m = new Recorder(step -> step == 2 ? bad : 1.0);
            RegressionLoop.Run run = RegressionLoop.train("test", "none", indexed(250), 3, m, QUIET);
            assertTrue(run.diverged(), "loss " + bad);
            assertEquals(1, run.divergedEpoch());
            assertEquals(3, run.steps());
        }
    }

    @Test
    void clippedStepsAndTheLargestNormComeFromTheReports() {
        Recorder m = new Recorder(step -> 1.0);
        try (Clipper clipper = Clipper.create(Backend.CPU)) {
            m.reports.add(clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(new float[] {3f, 4f})), NormClip.of(1.0)));
            m.reports.add(clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(new float[] {0.3f, 0.4f})), NormClip.of(1.0)));
            m.reports.add(clipper.clipByGlobalNorm(GradientSet.of(Tensor.of(new float[] {6f, 8f})), NormClip.of(1.0)));
        }
        RegressionLoop.Run run = RegressionLoop.train("test", "global-norm:1", indexed(50), 1, m, QUIET);
        assertEquals(2, run.clippedSteps());
        assertEquals(10.0, run.maxNorm(), 1e-6);
        assertEquals("global-norm:1", run.clipping());
    }

    @Test
    void oneLogLinePerEpoch() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        RegressionLoop.train("djl", "value:3", indexed(100), 2, new Recorder(step -> 1.0), log);
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length);
        assertTrue(lines[0].startsWith("djl value:3        epoch  1/2  train loss 1"), lines[0]);
        assertNotEquals(lines[0], lines[1]);
    }

    @Test
    void badArgumentsAreRefused() {
        Recorder m = new Recorder(step -> 1.0);
        assertThrows(IllegalArgumentException.class, () -> RegressionLoop.train("t", "l", indexed(10), 0, m, QUIET));
        assertThrows(IllegalArgumentException.class, () -> RegressionLoop.train("t", "l", indexed(0), 1, m, QUIET));
        assertThrows(NullPointerException.class, () -> RegressionLoop.train("t", "l", indexed(10), 1, null, QUIET));
        assertTrue(m.batches.isEmpty());
    }
}
