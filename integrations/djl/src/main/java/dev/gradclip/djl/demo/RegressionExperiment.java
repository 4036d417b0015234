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
import dev.gradclip.djl.GradClipListener;
import dev.gradclip.integration.ClipStep;
import dev.gradclip.integration.demo.RegressionData;
import dev.gradclip.integration.demo.RegressionLoop;
import java.io.PrintStream;
import java.util.List;

/**
 * The demo's exploding regression in DJL (PyTorch engine, CPU): Linear(25) → ReLU → Linear(1), MSE
 * ({@code L2Loss} with weight 1, {@code Σ_i (f(x_i) − y_i)² / rows}), SGD lr 0.01 with momentum 0.9, each step
 * {@code EasyTrain.trainBatch} + {@code trainer.step()} with gradclip in a {@link GradClipListener}; the loop
 * (split, shuffles, minibatches, divergence) is {@link RegressionLoop}'s.
 *
 * <p>Differences from the DL4J run, all DJL's: DJL's SGD has classical momentum, not Nesterov; the weights use
 * DJL's default initialisation (Xavier) from DJL's seeded generator; DJL's loss is the batch mean (as the
 * thresholds assume: no batch-size rescaling as in the DL4J listener).
 */
public final class RegressionExperiment {
    private RegressionExperiment() {
    }

    /**
     * Trains one model on {@code data} (DJL's engine seeded with {@code seed}).
     *
     * @param step the clip step, or null for no clipping
     */
    public static RegressionLoop.Run run(RegressionData data, ClipStep step, Clipper clipper, String label, int epochs,
                                         long seed, PrintStream log) {
        Engine.getInstance().setRandomSeed((int) seed);
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
                trainer.initialize(new Shape(RegressionLoop.BATCH, data.d()));
                return RegressionLoop.train("djl", label, data, epochs, new DjlModel(trainer, data.d(), losses, clip), log);
            }
        }
    }

    /** The loop's view of a DJL trainer. */
    private static final class DjlModel implements RegressionLoop.Model {
        private final Trainer trainer;
        private final int d;
        private final LossRecorder losses;
        private final GradClipListener clip;

        DjlModel(Trainer trainer, int d, LossRecorder losses, GradClipListener clip) {
            this.trainer = trainer;
            this.d = d;
            this.losses = losses;
            this.clip = clip;
        }

        @Override
        public double trainBatch(RegressionLoop.Minibatch b) {
            try (NDManager bm = trainer.getManager().newSubManager()) {
                NDArray xa = bm.create(b.x(), new Shape(b.rows(), d));
                NDArray ya = bm.create(b.y(), new Shape(b.rows(), 1));
                Batch batch = new Batch(bm, new NDList(xa), new NDList(ya), b.rows(), Batchifier.STACK, Batchifier.STACK,
                        b.progress(), b.epochRows());
                EasyTrain.trainBatch(trainer, batch); // backward, then the listeners: gradclip clips here
                trainer.step();
            }
            return losses.last;
        }

        @Override
        public double validationLoss(float[] x, float[] y, int rows) {
            try (NDManager vm = trainer.getManager().newSubManager()) {
                NDArray pred = trainer.evaluate(new NDList(vm.create(x, new Shape(rows, d)))).singletonOrThrow();
                NDArray diff = pred.reshape(rows).sub(vm.create(y));
                return diff.mul(diff).mean().getFloat();
            }
        }

        @Override
        public List<ClipReport> reports() {
            return clip == null ? List.of() : clip.reports();
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
