package dev.gradclip.demo;

/**
 * What the listener measured at one training step, in batch-mean gradient units (also written, with the per-tensor
 * norms, to the run's gradient monitor).
 *
 * @param iteration DL4J's iteration counter
 * @param epoch DL4J's epoch counter
 * @param batchSize the minibatch size of the step
 * @param totalNorm L2 norm of all clipped gradients together, before clipping
 * @param threshold the step's clipping threshold (fixed, or set by the policy), NaN when none
 * @param scale the scale applied (global norm), the smallest per-tensor/per-layer scale, or 1
 * @param clippedFraction elements clamped (value) or belonging to a rescaled tensor/layer/set (norm), over all elements
 * @param nonFinite NaN or infinite gradient elements before clipping
 */
public record StepRecord(int iteration, int epoch, int batchSize, double totalNorm, double threshold, double scale,
                         double clippedFraction, long nonFinite) {
}
