package dev.gradclip.torch.demo;

import dev.gradclip.ClipReport;
import dev.gradclip.Clipper;
import dev.gradclip.integration.ClipStep;
import dev.gradclip.integration.demo.RegressionData;
import dev.gradclip.integration.demo.RegressionLoop;
import dev.gradclip.torch.Libtorch;
import dev.gradclip.torch.TorchGradClip;
import java.io.PrintStream;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The demo's exploding regression in libtorch 2.10 through the JavaCPP presets: Linear(30, 25) → ReLU →
 * Linear(25, 1), {@code mse_loss} ({@code Σ_i (f(x_i) − y_i)² / rows}), SGD lr 0.01 with Nesterov momentum 0.9 (as
 * the DL4J run), libtorch's default initialisation from {@code manual_seed}. gradclip clips the module's gradients
 * in place between {@code backward()} and {@code optimizer.step()} ({@link TorchGradClip}); the loop (split,
 * shuffles, minibatches, divergence) is {@link RegressionLoop}'s.
 */
public final class TorchRegression {
    private TorchRegression() {
    }

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

    /**
     * Trains one model on {@code data} (libtorch seeded with {@code seed}).
     *
     * @param step the clip step, or null for no clipping
     */
    public static RegressionLoop.Run run(RegressionData data, ClipStep step, Clipper clipper, String label, int epochs,
                                         long seed, PrintStream log) {
        Libtorch.load();
        torch.manual_seed(seed);
        Mlp model = new Mlp(data.d(), 25);
        SGDOptions options = new SGDOptions(0.01);
        options.momentum().put(0.9);
        options.nesterov().put(true);
        SGD optimizer = new SGD(model.parameters(), options);
        TorchGradClip clip = step == null ? null : new TorchGradClip(clipper, step);
        int d = data.d();
        return RegressionLoop.train("torch", label, data, epochs, new RegressionLoop.Model() {
            @Override
            public double trainBatch(RegressionLoop.Minibatch b) {
                optimizer.zero_grad();
                Tensor loss = torch.mse_loss(model.forward(floats(b.x(), b.rows(), d)), floats(b.y(), b.rows(), 1));
                loss.backward();
                if (clip != null) clip.clip(model); // in place, between backward and step
                optimizer.step();
                return loss.item_double();
            }

            @Override
            public double validationLoss(float[] x, float[] y, int rows) {
                try (NoGradGuard guard = new NoGradGuard()) {
                    return torch.mse_loss(model.forward(floats(x, rows, d)), floats(y, rows, 1)).item_double();
                }
            }

            @Override
            public List<ClipReport> reports() {
                return clip == null ? List.of() : clip.reports();
            }
        }, log);
    }
}
