package dev.gradclip.torch.demo;

import dev.gradclip.integration.demo.RegressionDemo;
import java.io.IOException;

/**
 * {@code bin/gradclip demo --trainer torch [--quick] [--out DIR] [--backend cpu|emulated|cuda|auto]}: the exploding
 * regression in libtorch 2.10 through the JavaCPP presets ({@link TorchRegression}), without clipping, with
 * global-norm clipping (max norm 1, PyTorch semantics) and with value clipping (3), through
 * {@link dev.gradclip.torch.TorchGradClip}; the command line, table, {@code DIR/torch-regression.json} and exit
 * status (0 when the unclipped run diverged and both clipped runs trained, 1 otherwise, 2 for a bad command line)
 * are {@link RegressionDemo}'s.
 */
public final class TorchDemo {
    private TorchDemo() {
    }

    public static void main(String[] args) throws IOException {
        RegressionDemo.Trainer libtorch = new RegressionDemo.Trainer("torch", "libtorch 2.10 (JavaCPP presets, CPU)",
                "SGD lr 0.01 Nesterov momentum 0.9", TorchRegression::run);
        System.exit(RegressionDemo.run(args, libtorch, System.out, System.err));
    }
}
