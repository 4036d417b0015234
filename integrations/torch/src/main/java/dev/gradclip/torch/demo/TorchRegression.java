package dev.gradclip.torch.demo;

import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.torch.ClipStep;
import dev.gradclip.torch.Libtorch;
import dev.gradclip.torch.TorchGradClip;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The demo's exploding regression in libtorch 2.10 through the JavaCPP presets: Linear(30, 25) → ReLU →
 * Linear(25, 1), {@code mse_loss} (batch mean), batch 32, 20% held out, SGD lr 0.01 with Nesterov momentum 0.9
 * (as the DL4J run), libtorch's default initialisation from {@code manual_seed}. gradclip clips the module's
 * gradients in place between {@code backward()} and {@code optimizer.step()} ({@link TorchGradClip}). Diverged:
 * a NaN or infinite batch loss, or one beyond 1e6 times the first batch's; the run then stops.
 */
public final class TorchRegression {
    private TorchRegression() {
    }

    public record Epoch(int epoch, double trainLoss, double valLoss, double seconds) { }

    public record Run(String clipping, List<Epoch> epochs, boolean diverged, int divergedEpoch, long steps,
                      long clippedSteps, double maxNorm) { }

    /** The model: two linear layers registered on one module. */
    static final class Mlp extends Module {
        final LinearImpl fc1;
        final LinearImpl fc2;

        Mlp(int in, int hidden) {
            fc1 = register_module("fc1", new LinearImpl(in, hidden));
            fc2 = register_module("fc2", new LinearImpl(hidden, 1));
        }

        Tensor forward(Tensor x) {
            return fc2.forward(torch.relu(fc1.forward(x)));
        }
    }

    static Tensor floats(float[] v, long... shape) {
        Tensor t = torch.empty(shape);
        new FloatPointer(t.data_ptr()).capacity(v.length).put(v);
        return t;
    }

    /** Trains one model; {@code step} null means no clipping. */
    public static Run run(RegressionData data, ClipStep step, Clipper clipper, String label, int epochs, long seed,
                          PrintStream log) {
        Libtorch.load();
        torch.manual_seed(seed);
        int d = data.d();
        int nVal = (int) Math.round(data.n() * 0.2);
        int nTrain = data.n() - nVal;
        Mlp model = new Mlp(d, 25);
        SGDOptions options = new SGDOptions(0.01);
        options.momentum().put(0.9);
        options.nesterov().put(true);
        SGD optimizer = new SGD(model.parameters(), options);
        TorchGradClip clip = step == null ? null : new TorchGradClip(clipper, step);
        float[] xv = new float[nVal * d];
        float[] yv = new float[nVal];
        System.arraycopy(data.x(), nTrain * d, xv, 0, nVal * d);
        System.arraycopy(data.y(), nTrain, yv, 0, nVal);
        Tensor xVal = floats(xv, nVal, d);
        Tensor yVal = floats(yv, nVal, 1);
        int[] order = new int[nTrain];
        for (int i = 0; i < nTrain; i++) order[i] = i;
        Random rnd = new Random(11);
        List<Epoch> out = new ArrayList<>();
        boolean diverged = false;
        int divergedEpoch = -1;
        double firstLoss = Double.NaN;
        long steps = 0;
        for (int e = 1; e <= epochs && !diverged; e++) {
            long t0 = System.nanoTime();
            for (int i = nTrain - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            double sum = 0;
            int batches = 0;
            for (int from = 0; from < nTrain && !diverged; from += 32) {
                int to = Math.min(nTrain, from + 32);
                float[] xb = new float[(to - from) * d];
                float[] yb = new float[to - from];
                for (int i = from; i < to; i++) {
                    System.arraycopy(data.x(), order[i] * d, xb, (i - from) * d, d);
                    yb[i - from] = data.y()[order[i]];
                }
                optimizer.zero_grad();
                Tensor loss = torch.mse_loss(model.forward(floats(xb, to - from, d)), floats(yb, to - from, 1));
                loss.backward();
                if (clip != null) clip.clip(model); // in place, between backward and step
                optimizer.step();
                steps++;
                double l = loss.item_double();
                if (Double.isNaN(firstLoss)) firstLoss = l;
                sum += l;
                batches++;
                if (!Double.isFinite(l) || Math.abs(l) > 1e6 * Math.abs(firstLoss)) {
                    diverged = true;
                    divergedEpoch = e;
                }
            }
            double val;
            try (var guard = new org.bytedeco.pytorch.NoGradGuard()) {
                val = torch.mse_loss(model.forward(xVal), yVal).item_double();
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            out.add(new Epoch(e, sum / batches, val, secs));
            log.printf("torch %-14s epoch %2d/%d  train loss %-12.6g val loss %-12.6g %5.1f s%s%n", label, e, epochs,
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
        return new Run(label, out, diverged, divergedEpoch, steps, clipped, maxNorm);
    }
}
