package dev.gradclip.djl.demo;

import ai.djl.engine.Engine;
import dev.gradclip.integration.demo.RegressionDemo;
import java.io.IOException;

/**
 * {@code bin/gradclip demo --trainer djl [--quick] [--out DIR] [--backend cpu|emulated|cuda|auto]}: the exploding
 * regression in DJL ({@link RegressionExperiment}), without clipping, with global-norm clipping (max norm 1, PyTorch
 * semantics) and with value clipping (3), through {@link dev.gradclip.djl.GradClipListener}; the command line,
 * table, {@code DIR/djl-regression.json} and exit status (0 when the unclipped run diverged and both clipped runs
 * trained, 1 otherwise, 2 for a bad command line) are {@link RegressionDemo}'s.
 */
public final class DjlDemo {
    private DjlDemo() {
    }

    public static void main(String[] args) throws IOException {
        RegressionDemo.Trainer djl = new RegressionDemo.Trainer("djl", "DJL " + Engine.getDjlVersion() + " (PyTorch engine, CPU)",
                "SGD lr 0.01 momentum 0.9", RegressionExperiment::run);
        System.exit(RegressionDemo.run(args, djl, System.out, System.err));
    }
}
