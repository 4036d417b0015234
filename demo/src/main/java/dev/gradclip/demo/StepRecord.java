package dev.gradclip.demo;

/**
 * What the listener measured at one training step, in batch-mean gradient units.
 *
 * @param iteration DL4J's iteration counter
 * @param epoch DL4J's epoch counter
 * @param batchSize the minibatch size of the step
 * @param totalNorm L2 norm of all clipped gradients together, before clipping
 * @param scale the scale applied (global norm), the smallest per-tensor/per-layer scale, or 1
 * @param clippedFraction elements clamped (value) or belonging to a rescaled tensor/layer/set (norm), over all elements
 * @param nonFinite NaN or infinite gradient elements before clipping
 */
public record StepRecord(int iteration, int epoch, int batchSize, double totalNorm, double scale,
                         double clippedFraction, long nonFinite) {
}
