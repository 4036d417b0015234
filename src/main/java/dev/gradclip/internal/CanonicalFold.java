package dev.gradclip.internal;

/**
 * The canonical fold of docs/canonical-reduction.md, shared by every level (chunk, tensor, total):
 * 1,024 fp64 lanes, then per "thread" {@code (L[4t]+L[4t+1]) + (L[4t+2]+L[4t+3])}, then per warp of 32
 * threads the halving tree 16, 8, 4, 2, 1, then the 8 warps by the halving tree 4, 2, 1. The same order
 * a CUDA block of 256 threads uses, so the CPU and the kernels agree bit for bit. Not API: the package
 * {@code dev.gradclip.internal} is not exported.
 */
public final class CanonicalFold {
    public static final int LANES = 1024;

    private CanonicalFold() {
    }

    /** Folds {@code lanes} (length 1,024, destroyed) with +. */
    public static double sum(double[] lanes) {
        for (int t = 0; t < 256; t++) {
            int l = 4 * t;
            lanes[t] = (lanes[l] + lanes[l + 1]) + (lanes[l + 2] + lanes[l + 3]);
        }
        for (int w = 0; w < 8; w++) {
            int b = 32 * w;
            for (int off = 16; off > 0; off >>= 1) {
                for (int k = 0; k < off; k++) {
                    lanes[b + k] = lanes[b + k] + lanes[b + k + off];
                }
            }
        }
        for (int off = 4; off > 0; off >>= 1) {
            for (int k = 0; k < off; k++) {
                lanes[32 * k] = lanes[32 * k] + lanes[32 * (k + off)];
            }
        }
        return lanes[0];
    }

    /** Folds {@code lanes} (destroyed) with {@link #nanMax}; order-free but kept in the same shape. */
    public static double max(double[] lanes) {
        double m = 0.0;
        for (int i = 0; i < LANES; i++) {
            m = nanMax(m, lanes[i]);
        }
        return m;
    }

    /** NaN if either is NaN, else the larger. */
    public static double nanMax(double a, double b) {
        return (a > b || a != a) ? a : b;
    }

    /** One lane array per thread for {@link #reduce(double[], int, int, boolean)}: 8 KB not allocated per call. */
    private static final ThreadLocal<double[]> LANES_OF_THREAD = ThreadLocal.withInitial(() -> new double[LANES]);

    /**
     * {@link #reduce(double[], int, int, boolean, double[])} with this thread's own lane array (reduce never
     * calls back into user code, so one array per thread is never in use twice).
     */
    public static double reduce(double[] values, int from, int count, boolean max) {
        return reduce(values, from, count, max, LANES_OF_THREAD.get());
    }

    /**
     * {@code reduce(v[from .. from+count))}: value i goes to lane i mod 1,024 in ascending order, then the fold.
     * Used for a tensor's chunk partials and for the total over tensor sums.
     */
    public static double reduce(double[] values, int from, int count, boolean max, double[] lanes) {
        if (count == 1) {
            // one value v and 1,023 lanes of +0.0: every step of either fold is v + (+0.0) = v or
            // nanMax(v, +0.0) = v, because the values folded here (chunk partials and tensor sums of
            // |x|^p, or maxima of |x|) are never -0.0; NaN stays NaN. Bit-identical, without the
            // 1,024-lane fill and fold per single-chunk tensor (many-small: 10,000 of them per call).
            return values[from];
        }
        java.util.Arrays.fill(lanes, 0.0);
        for (int i = 0; i < count; i++) {
            int j = i & (LANES - 1);
            double v = values[from + i];
            lanes[j] = max ? nanMax(lanes[j], v) : lanes[j] + v;
        }
        return max ? max(lanes) : sum(lanes);
    }
}
