package dev.gradclip;

/**
 * How a norm {@code N} and a threshold {@code M} give the scale applied to the gradients, computed in fp64.
 */
public enum Semantics {
    /**
     * PyTorch {@code clip_grad_norm_}: {@code scale = min(M / (N + 1e-6), 1)}; NaN stays NaN, N = ∞ gives 0.
     */
    TORCH {
        @Override
        public double scale(double norm, double maxNorm) {
            double c = maxNorm / (norm + 1e-6);
            return Double.isNaN(c) ? c : Math.min(c, 1.0);
        }
    },
    /**
     * TensorFlow {@code clip_by_global_norm} / {@code clip_by_norm}, Keras, Optax and DL4J ClipL2PerLayer:
     * {@code scale = M / max(N, M)}, exactly 1 when N ≤ M; a non-finite N gives NaN.
     * <b>Deviation:</b> {@code N = M = 0} gives exactly 1 (the gradients are all zero and stay zero),
     * where TF's {@code M / max(N, M)} and Optax's {@code g / N * M} compute 0/0 and write NaN.
     */
    TF {
        @Override
        public double scale(double norm, double maxNorm) {
            if (!Double.isFinite(norm)) {
                return Double.NaN;
            }
            if (norm == 0.0 && maxNorm == 0.0) {
                return 1.0;
            }
            return maxNorm / Math.max(norm, maxNorm);
        }
    };

    /**
     * The fp64 scale for norm {@code N} and threshold {@code M}, by this constant's formula.
     *
     * @param norm N, ≥ 0, or NaN or +∞
     * @param maxNorm M, finite and ≥ 0
     * @return the factor every element is multiplied by; NaN when the formula gives NaN
     */
    public abstract double scale(double norm, double maxNorm);

    /**
     * DL4J {@code RenormalizeL2PerLayer}: {@code scale = 1 / N} in fp64, with N = 0 taken as 1e-5.
     *
     * @param norm N, ≥ 0, or NaN or +∞
     * @return {@code 1 / (N == 0 ? 1e-5 : N)}: NaN for a NaN N, 0 for N = +∞
     */
    public static double renormalizeScale(double norm) {
        return 1.0 / (norm == 0.0 ? 1e-5 : norm);
    }
}
