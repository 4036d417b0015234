package dev.gradclip.backend;

/**
 * What a fused global-norm clip did.
 *
 * @param totalNorm {@code N}
 * @param tensorNorms {@code ‖g_t‖_p} per tensor (owned by this record's creator; not copied)
 * @param scale the fp64 scale (1 when stopped)
 * @param writtenElements elements of the tensors whose applied scale was not 1 (0 when stopped)
 * @param nonFiniteElements NaN or ±∞ elements
 * @param stopped the policy (ERROR or SKIP) met a non-finite norm or a NaN scale: nothing was written
 */
public record GlobalClipResult(double totalNorm, double[] tensorNorms, double scale, long writtenElements,
                               long nonFiniteElements, boolean stopped) {
}
