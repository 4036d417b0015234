package dev.gradclip.demo;

import dev.gradclip.Clipper;
import dev.gradclip.monitor.Alert;
import dev.gradclip.monitor.MonitorPlots;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Supplier;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A Keras-like {@code fit(x, y, epochs, batch_size, validation_split)} loop around a DL4J network with a
 * {@link GradClipListener} attached: the last {@code validationSplit} of the examples (before shuffling) are held
 * out, the rest is shuffled every epoch; the epoch's train loss is the mean of its minibatch losses, as Keras
 * reports it. Train accuracy (classification only) is measured after each epoch on the first 1,000 training
 * examples in inference mode (Keras averages it during the epoch instead).
 */
public final class Trainer {
    private Trainer() { }

    public enum Task { REGRESSION, BINARY }

    /** One epoch's metrics; accuracies are null for regression. */
    public record Epoch(int epoch, double trainLoss, double valLoss, Double trainAccuracy, Double valAccuracy,
                        double seconds) { }

    /**
     * One run: its clipping, its epochs, its steps, whether it diverged, the gradient monitor's alerts, and the folder
     * of its monitor files (null when not written).
     */
    public record Run(ClipSpec clip, List<Epoch> epochs, List<StepRecord> steps, boolean diverged, double seconds,
                      List<Alert> alerts, Path monitorDir) {
        public Run {
            alerts = List.copyOf(alerts);
        }

        /** How many alerts of {@code kind} the monitor raised. */
        public long alerts(Alert.Kind kind) {
            return alerts.stream().filter(a -> a.kind() == kind).count();
        }

        public Epoch last() { return epochs.isEmpty() ? null : epochs.get(epochs.size() - 1); }

        /** Mean over steps of the fraction of gradient elements clipping changed. */
        public double clippedFraction() {
            if (steps.isEmpty()) return 0;
            double s = 0;
            for (StepRecord r : steps) s += r.clippedFraction();
            return s / steps.size();
        }
    }

    /** Examples row-major with {@code featureShape} per example (e.g. {30} or {100}) and one label each. */
    public record Data(float[] x, long[] featureShape, float[] y, int n) {
        int featureSize() {
            long s = 1;
            for (long d : featureShape) s *= d;
            return (int) s;
        }
    }

    public static Run fit(String experiment, Supplier<MultiLayerNetwork> factory, Clipper clipper, ClipSpec clip,
                          Task task, Data data, int epochs, int batchSize, double validationSplit, long seed,
                          PrintStream log) {
        return fit(experiment, factory, clipper, clip, task, data, epochs, batchSize, validationSplit, seed, log, null);
    }

    /**
     * As {@link #fit(String, Supplier, Clipper, ClipSpec, Task, Data, int, int, double, long, PrintStream)}, writing
     * the gradient monitor's log (JSON lines, CSV, TensorBoard) and plots into {@code monitorDir} when it is not null.
     */
    public static Run fit(String experiment, Supplier<MultiLayerNetwork> factory, Clipper clipper, ClipSpec clip,
                          Task task, Data data, int epochs, int batchSize, double validationSplit, long seed,
                          PrintStream log, Path monitorDir) {
        long t0 = System.nanoTime();
        MultiLayerNetwork net = factory.get();
        GradClipListener listener = GradClipListener.attach(net, clipper, clip);
        if (monitorDir != null) listener.writeMonitorTo(monitorDir);
        try {
            return fit(experiment, net, listener, clip, task, data, epochs, batchSize, validationSplit, seed, log, monitorDir, t0);
        } finally {
            try {
                listener.close();
            } catch (IOException e) {
                log.println("[" + experiment + "] " + clip.label() + ": could not close the monitor files: " + e);
            }
        }
    }

    private static Run fit(String experiment, MultiLayerNetwork net, GradClipListener listener, ClipSpec clip, Task task,
                           Data data, int epochs, int batchSize, double validationSplit, long seed, PrintStream log,
                           Path monitorDir, long t0) {
        int nVal = (int) Math.round(data.n() * validationSplit);
        int nTrain = data.n() - nVal;
        int[] order = new int[nTrain];
        for (int i = 0; i < nTrain; i++) order[i] = i;
        Random rnd = new Random(seed);
        List<Epoch> out = new ArrayList<>();
        boolean diverged = false;
        double startLoss = Double.NaN;
        for (int e = 1; e <= epochs && !diverged; e++) {
            long te = System.nanoTime();
            shuffle(order, rnd);
            double lossSum = 0;
            int batches = 0;
            int stepsBefore = listener.records().size();
            for (int from = 0; from < nTrain; from += batchSize) {
                int to = Math.min(nTrain, from + batchSize);
                DataSet ds = batch(data, order, from, to);
                net.fit(ds);
                double loss = net.score();
                if (Double.isNaN(startLoss)) startLoss = loss;
                lossSum += loss;
                batches++;
                if (!Double.isFinite(loss) || Math.abs(loss) > 1e6 * Math.abs(startLoss)) {
                    diverged = true;
                    break;
                }
            }
            double trainLoss = lossSum / batches;
            double[] val = evaluate(net, task, data, nTrain, data.n());
            Double trainAcc = null;
            if (task == Task.BINARY) trainAcc = evaluate(net, task, data, 0, Math.min(nTrain, 1000))[1];
            Double valAcc = task == Task.BINARY ? val[1] : null;
            double secs = (System.nanoTime() - te) / 1e9;
            out.add(new Epoch(e, trainLoss, val[0], trainAcc, valAcc, secs));
            List<StepRecord> steps = listener.records().subList(stepsBefore, listener.records().size());
            log.println(progressLine(experiment, clip, e, epochs, trainLoss, val[0], valAcc, steps, secs)
                    + (diverged ? "  DIVERGED (stopping this run)" : ""));
        }
        List<Alert> alerts = listener.monitor() == null ? List.of() : listener.monitor().alerts();
        if (monitorDir != null && listener.monitor() != null && !listener.monitor().steps().isEmpty()) {
            try {
                MonitorPlots.writeAll(listener.monitor(), monitorDir, experiment + " " + clip.label());
            } catch (IOException e) {
                log.println("[" + experiment + "] " + clip.label() + ": could not write the monitor plots: " + e);
            }
        }
        return new Run(clip, out, new ArrayList<>(listener.records()), diverged, (System.nanoTime() - t0) / 1e9, alerts,
                monitorDir);
    }

    private static String progressLine(String experiment, ClipSpec clip, int e, int epochs, double loss, double valLoss,
                                       Double valAcc, List<StepRecord> steps, double secs) {
        double[] norms = steps.stream().mapToDouble(StepRecord::totalNorm).filter(Double::isFinite).sorted().toArray();
        double median = norms.length == 0 ? Double.NaN : norms[norms.length / 2];
        double clipped = steps.stream().mapToDouble(StepRecord::clippedFraction).average().orElse(0);
        String threshold = "";
        if (clip.adaptive()) {
            double[] t = steps.stream().mapToDouble(StepRecord::threshold).filter(Double::isFinite).sorted().toArray();
            threshold = "  threshold median " + (t.length == 0 ? "none" : num(t[t.length / 2]));
        }
        return String.format(Locale.ROOT, "[%s] %-16s epoch %2d/%-2d  loss %-10s val_loss %-10s%s  |g| median %-9s clipped %6s%s  %5.1f s",
                experiment, clip.label(), e, epochs, num(loss), num(valLoss),
                valAcc == null ? "" : String.format(Locale.ROOT, "  val_acc %.3f", valAcc), num(median), Summary.percent(clipped),
                threshold, secs);
    }

    static String num(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        double a = Math.abs(v);
        if (a != 0 && (a >= 1e5 || a < 1e-3)) return String.format(Locale.ROOT, "%.3e", v);
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static void shuffle(int[] a, Random rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i]; a[i] = a[j]; a[j] = t;
        }
    }

    private static DataSet batch(Data data, int[] order, int from, int to) {
        int f = data.featureSize();
        int b = to - from;
        float[] x = new float[b * f];
        float[] y = new float[b];
        for (int i = 0; i < b; i++) {
            int src = order[from + i];
            System.arraycopy(data.x(), src * f, x, i * f, f);
            y[i] = data.y()[src];
        }
        return new DataSet(features(x, b, data.featureShape()), Nd4j.create(y, new long[]{b, 1}, DataType.FLOAT));
    }

    private static INDArray features(float[] x, int b, long[] shape) {
        long[] full = new long[shape.length + 1];
        full[0] = b;
        System.arraycopy(shape, 0, full, 1, shape.length);
        return Nd4j.create(x, full, DataType.FLOAT);
    }

    /** {loss, accuracy} over examples [from, to), computed in fp64 from the network's outputs (Keras' losses). */
    static double[] evaluate(MultiLayerNetwork net, Task task, Data data, int from, int to) {
        int f = data.featureSize();
        double loss = 0;
        long correct = 0;
        int chunk = 1000;
        for (int s = from; s < to; s += chunk) {
            int e = Math.min(to, s + chunk);
            int b = e - s;
            float[] x = new float[b * f];
            System.arraycopy(data.x(), s * f, x, 0, b * f);
            float[] out = net.output(features(x, b, data.featureShape()), false).toFloatVector();
            for (int i = 0; i < b; i++) {
                double y = data.y()[s + i];
                double p = out[i];
                if (task == Task.REGRESSION) {
                    loss += (p - y) * (p - y);
                } else {
                    double q = Math.min(1 - 1e-7, Math.max(1e-7, p));
                    loss += -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
                    if ((p > 0.5) == (y > 0.5)) correct++;
                }
            }
        }
        int n = to - from;
        return new double[]{loss / n, (double) correct / n};
    }
}
