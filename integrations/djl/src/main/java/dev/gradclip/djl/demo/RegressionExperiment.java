package dev.gradclip.djl.demo;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.djl.ClipStep;
import dev.gradclip.djl.GradClipListener;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The demo's exploding regression in DJL (PyTorch engine, CPU): Linear(25) → ReLU → Linear(1), MSE
 * ({@code L2Loss} with weight 1), batch 32, 20% held out, SGD lr 0.01 with momentum 0.9, trained with
 * {@code EasyTrain.trainBatch} + {@code trainer.step()} and gradclip in a {@link GradClipListener}.
 *
 * <p>Differences from the DL4J run, all DJL's: DJL's SGD has classical momentum, not Nesterov; the weights use
 * DJL's default initialisation (Xavier) from DJL's seeded generator; DJL's loss is the batch mean (as the
 * thresholds assume: no batch-size rescaling as in the DL4J listener). A run has diverged when a batch loss is
 * NaN or infinite, or beyond 1e6 times the first batch's; it then stops.
 */
public final class RegressionExperiment {
    private RegressionExperiment() {
    }

    /** One epoch: mean train batch loss and the validation MSE after it. */
    public record Epoch(int epoch, double trainLoss, double valLoss, double seconds) { }

    /** One run. {@code reports} holds one report per step ({@code null} step for the unclipped run). */
    public record Run(String clipping, List<Epoch> epochs, boolean diverged, int divergedEpoch, long steps,
                      long clippedSteps, double maxNorm, double firstLoss, double lastLoss) { }

    /**
     * Trains one model on {@code data}.
     *
     * @param step the clip step, or null for no clipping
     */
    public static Run run(RegressionData data, ClipStep step, Clipper clipper, String label, int epochs, int seed,
                          PrintStream log) {
        Engine.getInstance().setRandomSeed(seed);
        int nVal = (int) Math.round(data.n() * 0.2);
        int nTrain = data.n() - nVal;
        SequentialBlock block = new SequentialBlock()
                .add(Linear.builder().setUnits(25).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(1).build());
        GradClipListener clip = step == null ? null : new GradClipListener(clipper, step);
        LossRecorder losses = new LossRecorder();
        try (Model model = Model.newInstance("exploding-regression")) {
            model.setBlock(block);
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss("mse", 1f))
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).optMomentum(0.9f).build())
                    .addTrainingListeners(losses);
            if (clip != null) config.addTrainingListeners(clip);
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(32, data.d()));
                NDManager m = trainer.getManager();
                int[] order = new int[nTrain];
                for (int i = 0; i < nTrain; i++) order[i] = i;
                Random rnd = new Random(11);
                List<Epoch> out = new ArrayList<>();
                boolean diverged = false;
                int divergedEpoch = -1;
                double firstLoss = Double.NaN;
                double lastLoss = Double.NaN;
                long steps = 0;
                for (int e = 1; e <= epochs && !diverged; e++) {
                    long t0 = System.nanoTime();
                    shuffle(order, rnd);
                    double sum = 0;
                    int batches = 0;
                    for (int from = 0; from < nTrain && !diverged; from += 32) {
                        int to = Math.min(nTrain, from + 32);
                        try (NDManager bm = m.newSubManager()) {
                            float[] xb = new float[(to - from) * data.d()];
                            float[] yb = new float[to - from];
                            for (int i = from; i < to; i++) {
                                System.arraycopy(data.x(), order[i] * data.d(), xb, (i - from) * data.d(), data.d());
                                yb[i - from] = data.y()[order[i]];
                            }
                            NDArray xa = bm.create(xb, new Shape(to - from, data.d()));
                            NDArray ya = bm.create(yb, new Shape(to - from, 1));
                            Batch batch = new Batch(bm, new NDList(xa), new NDList(ya), to - from,
                                    Batchifier.STACK, Batchifier.STACK, from, nTrain);
                            EasyTrain.trainBatch(trainer, batch); // backward, then the listeners: gradclip clips here
                            trainer.step();
                            steps++;
                        }
                        double loss = losses.last;
                        if (Double.isNaN(firstLoss)) firstLoss = loss;
                        lastLoss = loss;
                        sum += loss;
                        batches++;
                        if (!Double.isFinite(loss) || Math.abs(loss) > 1e6 * Math.abs(firstLoss)) {
                            diverged = true;
                            divergedEpoch = e;
                        }
                    }
                    double val = validationLoss(trainer, data, nTrain);
                    double secs = (System.nanoTime() - t0) / 1e9;
                    out.add(new Epoch(e, sum / batches, val, secs));
                    log.printf("djl %-14s epoch %2d/%d  train loss %-12.6g val loss %-12.6g %5.1f s%s%n", label, e, epochs,
                            sum / batches, val, secs, diverged ? "  DIVERGED (stopping this run)" : "");
                }
                long clipped = 0;
                double maxNorm = 0;
                if (clip != null) {
                    for (ClipReport r : clip.reports()) {
                        if (r.clipped()) clipped++;
                        if (r.hasNorms()) maxNorm = Math.max(maxNorm, r.totalNorm());
                    }
                }
                return new Run(label, out, diverged, divergedEpoch, steps, clipped, maxNorm, firstLoss, lastLoss);
            }
        }
    }

    private static double validationLoss(Trainer trainer, RegressionData data, int nTrain) {
        int nVal = data.n() - nTrain;
        if (nVal == 0) return Double.NaN;
        try (NDManager vm = trainer.getManager().newSubManager()) {
            float[] xv = Arrays.copyOfRange(data.x(), nTrain * data.d(), data.n() * data.d());
            float[] yv = Arrays.copyOfRange(data.y(), nTrain, data.n());
            NDArray pred = trainer.evaluate(new NDList(vm.create(xv, new Shape(nVal, data.d())))).singletonOrThrow();
            NDArray diff = pred.reshape(nVal).sub(vm.create(yv));
            return diff.mul(diff).mean().getFloat();
        }
    }

    private static void shuffle(int[] a, Random rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** Records each training batch's loss (the trainer's loss on the batch's predictions). */
    static final class LossRecorder extends TrainingListenerAdapter {
        double last = Double.NaN;

        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            double total = 0;
            for (var entry : batchData.getLabels().entrySet()) {
                NDList preds = batchData.getPredictions().get(entry.getKey());
                try (NDArray l = trainer.getLoss().evaluate(entry.getValue(), preds)) {
                    total += l.getFloat();
                }
            }
            last = total;
        }
    }
}
