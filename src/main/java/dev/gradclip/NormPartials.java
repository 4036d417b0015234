package dev.gradclip;

import dev.gradclip.internal.CanonicalFold;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The exact canonical intermediate values of one norm pass over a {@link GradientSet}
 * (docs/canonical-reduction.md): phase one of a two-phase clip, or the input of a policy that wants more
 * than the norm. Immutable and thread-safe; every accessor returns copies.
 *
 * <p>For tensor {@code t} with chunks {@code c = 0, 1, …} of 65,536 elements:
 * <ul>
 *   <li>{@link #chunkSums(int) chunkSums(t)[c]} {@code = fold1024(term(x) for x in chunk c)}, with
 *       {@code term(x) = |x|} (p = 1, p = ∞, folded with nanmax for ∞), {@code x²} (p = 2) and, for a
 *       general p, {@code (|x| / m_t)^p} where {@code m_t = max|x|} over the tensor;
 *   <li>{@link #tensorSum(int) tensorSum(t)} {@code = S_t = fold1024(chunkSums(t))} (chunk c → lane c mod 1024);
 *   <li>{@link #maxAbs(int) maxAbs(t)} {@code = m_t} (general p only);
 *   <li>{@link #tensorNorm(int) tensorNorm(t)} {@code = S_t} (p = 1, ∞), {@code √S_t} (p = 2),
 *       {@code m_t · S_t^(1/p)} (general p; {@code m_t} itself when {@code m_t} is 0, NaN or ∞);
 *   <li>{@link #totalNorm()}: p = 1, 2, ∞ the norm of {@code S = fold1024(S_0, …, S_{n-1})} (tensor t → lane
 *       t mod 1024); general p {@code M · (fold1024(S_t · (m_t/M)^p))^(1/p)} with {@code M = nanmax_t m_t}
 *       ({@code M} itself when it is 0, NaN or ∞), which never overflows for finite data.
 * </ul>
 * p = 1, 2, ∞ are bitwise identical on every backend; a general p is within a few ulp (pow differs).
 * A partial, sum, maximum or norm that is NaN is the canonical quiet NaN ({@link Double#NaN}): which of
 * several NaN inputs a sum returns depends on operand order, SIMD path and hardware, so NaNs carry no
 * payload here.
 */
public final class NormPartials {
    private final NormType normType;
    private final double[] chunkSums;
    private final int[] firstChunk;
    private final double[] tensorSums;
    private final double @Nullable [] maxAbs;
    private final long nonFiniteElements;
    private final double[] tensorNorms;
    private final double totalNorm;

    private NormPartials(NormType normType, double[] chunkSums, int[] firstChunk, double[] tensorSums, double @Nullable [] maxAbs,
                         long nonFiniteElements) {
        this.normType = normType;
        this.chunkSums = chunkSums;
        this.firstChunk = firstChunk;
        this.tensorSums = tensorSums;
        this.maxAbs = maxAbs;
        this.nonFiniteElements = nonFiniteElements;
        int n = tensorSums.length;
        this.tensorNorms = new double[n];
        if (isGeneral(normType)) {
            double p = normType.p();
            for (int t = 0; t < n; t++) {
                double m = maxAbs[t];
                tensorNorms[t] = usable(m) ? m * Math.pow(tensorSums[t], 1.0 / p) : m;
            }
            double big = CanonicalFold.reduce(maxAbs, 0, n, true);
            if (n == 0 || !usable(big)) {
                totalNorm = n == 0 ? 0.0 : big;
            } else {
                double[] u = new double[n];
                for (int t = 0; t < n; t++) {
                    u[t] = maxAbs[t] == 0.0 ? 0.0 : tensorSums[t] * Math.pow(maxAbs[t] / big, p);
                }
                totalNorm = big * Math.pow(CanonicalFold.reduce(u, 0, n, false), 1.0 / p);
            }
        } else {
            for (int t = 0; t < n; t++) tensorNorms[t] = normType.normFromSum(tensorSums[t]);
            totalNorm = normType.normFromSum(n == 0 ? 0.0 : CanonicalFold.reduce(tensorSums, 0, n, normType.isInfinity()));
        }
    }

    /**
     * The partials as a backend computed them (for backend implementations).
     *
     * @param normType the p of the pass
     * @param chunkSums every tensor's chunk partials, tensor after tensor, in chunk order
     *     ({@code ceil(size_t / 65,536)} per tensor, none for an empty tensor)
     * @param tensorSizes each tensor's element count (it fixes the tensor's number of chunks)
     * @param tensorSums {@code S_t} per tensor
     * @param maxAbs {@code m_t} per tensor for a general p, else null
     * @param nonFiniteElements NaN or infinite elements in the set
     * @return the partials (copies of the arrays), with the tensor norms and the total norm computed from them
     * @throws IllegalArgumentException if the lengths do not match, a size or the count is negative, or
     *     maxAbs is missing for a general p (or present for p = 1, 2, ∞)
     */
    public static NormPartials of(NormType normType, double[] chunkSums, long[] tensorSizes, double[] tensorSums,
                                  double @Nullable [] maxAbs, long nonFiniteElements) {
        Objects.requireNonNull(normType, "norm type is null");
        Objects.requireNonNull(chunkSums, "chunk sums are null");
        Objects.requireNonNull(tensorSizes, "tensor sizes are null");
        Objects.requireNonNull(tensorSums, "tensor sums are null");
        int n = tensorSizes.length;
        if (tensorSums.length != n) {
            throw new IllegalArgumentException(tensorSums.length + " tensor sums for " + n + " tensors");
        }
        if (isGeneral(normType) != (maxAbs != null)) {
            throw new IllegalArgumentException("max|x| per tensor is given exactly for a general p (not 1, 2 or inf), p = " + normType);
        }
        if (maxAbs != null && maxAbs.length != n) {
            throw new IllegalArgumentException(maxAbs.length + " max|x| values for " + n + " tensors");
        }
        if (nonFiniteElements < 0) throw new IllegalArgumentException("negative non-finite count " + nonFiniteElements);
        int[] first = new int[n + 1];
        long chunks = 0;
        for (int t = 0; t < n; t++) {
            if (tensorSizes[t] < 0) throw new IllegalArgumentException("tensor " + t + " has a negative size");
            first[t] = (int) chunks;
            chunks += (tensorSizes[t] + 65_535) / 65_536;
            if (chunks > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("more than 2^31 chunks");
        }
        first[n] = (int) chunks;
        if (chunkSums.length != chunks) {
            throw new IllegalArgumentException(chunkSums.length + " chunk sums for " + chunks + " chunks");
        }
        return new NormPartials(normType, canonicalNaNs(chunkSums), first, canonicalNaNs(tensorSums),
                maxAbs == null ? null : canonicalNaNs(maxAbs), nonFiniteElements);
    }

    /** A copy of {@code v} with every NaN replaced by the canonical quiet NaN. */
    private static double[] canonicalNaNs(double[] v) {
        double[] c = v.clone();
        for (int i = 0; i < c.length; i++) {
            if (Double.isNaN(c[i])) c[i] = Double.NaN;
        }
        return c;
    }

    private static boolean isGeneral(NormType p) {
        return !(p.p() == 1.0 || p.p() == 2.0 || p.isInfinity());
    }

    private static boolean usable(double m) {
        return m > 0.0 && m < Double.POSITIVE_INFINITY;
    }

    /** {@return the p of the pass} */
    public NormType normType() { return normType; }

    /** {@return the number of tensors of the set the pass measured} */
    public int tensorCount() { return tensorSums.length; }

    /**
     * {@return tensor t's chunk partials, in chunk order} A copy; {@code ceil(size_t / 65,536)} values,
     * none for an empty tensor.
     *
     * @param t the tensor's index in the set
     * @throws IndexOutOfBoundsException if {@code t} is outside {@code [0, tensorCount())}
     */
    public double[] chunkSums(int t) {
        Objects.checkIndex(t, tensorSums.length);
        return Arrays.copyOfRange(chunkSums, firstChunk[t], firstChunk[t + 1]);
    }

    /**
     * {@return {@code S_t}, the fold of tensor t's chunk partials}
     *
     * @param t the tensor's index in the set
     * @throws IndexOutOfBoundsException if {@code t} is outside {@code [0, tensorCount())}
     */
    public double tensorSum(int t) { return tensorSums[t]; }

    /** {@return whether {@link #maxAbs(int)} is defined} True exactly for a general p (not 1, 2 or ∞). */
    public boolean hasMaxAbs() { return maxAbs != null; }

    /**
     * {@return {@code m_t = max|x|} over tensor t, for a general p} NaN if the tensor holds a NaN.
     *
     * @param t the tensor's index in the set
     * @throws IllegalStateException for p = 1, 2 or ∞ (for ∞ it is {@link #tensorSum(int)})
     * @throws IndexOutOfBoundsException if {@code t} is outside {@code [0, tensorCount())}
     */
    public double maxAbs(int t) {
        if (maxAbs == null) throw new IllegalStateException("max|x| is kept for a general p only, not p = " + normType);
        return maxAbs[t];
    }

    /** {@return the NaN or infinite elements seen by the pass} */
    public long nonFiniteElements() { return nonFiniteElements; }

    /**
     * {@return {@code ‖g_t‖_p}} See the class comment for the formula.
     *
     * @param t the tensor's index in the set
     * @throws IndexOutOfBoundsException if {@code t} is outside {@code [0, tensorCount())}
     */
    public double tensorNorm(int t) { return tensorNorms[t]; }

    /** {@return a copy of every tensor norm, in set order} */
    public double[] tensorNorms() { return tensorNorms.clone(); }

    /** The per-tensor norms without a copy, for {@link ClipReport}s (which never write it either). */
    double[] tensorNormsShared() { return tensorNorms; }

    /**
     * {@return {@code ‖(g_0, …, g_{n-1})‖_p}, from the tensor sums by the canonical fold} 0 for an empty set.
     */
    public double totalNorm() { return totalNorm; }

    /**
     * {@return whether {@code o} is partials of the same norm type, tensor sizes (in chunks) and non-finite
     * count whose every chunk sum, tensor sum and max|x| is equal bit for bit} NaN payloads included.
     *
     * @param o the object to compare with, may be null
     */
    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof NormPartials other && normType.equals(other.normType) && nonFiniteElements == other.nonFiniteElements
                && Arrays.equals(firstChunk, other.firstChunk) && bitsEqual(chunkSums, other.chunkSums)
                && bitsEqual(tensorSums, other.tensorSums) && bitsEqual(maxAbs, other.maxAbs);
    }

    private static boolean bitsEqual(double @Nullable [] a, double @Nullable [] b) {
        if (a == null || b == null) return a == b;
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) {
            if (Double.doubleToRawLongBits(a[i]) != Double.doubleToRawLongBits(b[i])) return false;
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(normType, nonFiniteElements, Arrays.hashCode(tensorSums));
    }

    @Override
    public String toString() {
        return "NormPartials{p=" + normType + ", tensors=" + tensorSums.length + ", chunks=" + chunkSums.length
                + ", totalNorm=" + totalNorm + ", nonFinite=" + nonFiniteElements + "}";
    }
}
