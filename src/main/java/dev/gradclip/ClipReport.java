package dev.gradclip;

import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What one operation measured and did: what a trainer logs each step. Immutable; built only by
 * {@link Clipper}.
 *
 * <ul>
 *   <li>{@link #totalNorm()}: the norm over the whole set (NaN when the operation computes no norm,
 *       see {@link #hasNorms()});
 *   <li>{@link #tensorNorms()}: each tensor's norm, in set order;
 *   <li>{@link #scale()}: the global scale (clip by global norm); for per-tensor operations the smallest
 *       tensor scale; 1 when nothing was scaled;
 *   <li>{@link #clippedElements()}: for clip by value the elements outside [min, max]; for norm clipping
 *       the elements of the tensors whose applied scale was not 1;
 *   <li>{@link #nonFiniteElements()}: NaN or infinite input elements;
 *   <li>{@link #skipped()}: {@link NonFinitePolicy#SKIP} left every tensor untouched.
 * </ul>
 */
public final class ClipReport {
    private final Operation operation;
    private final String backend;
    private final @Nullable NormType normType;
    private final boolean hasNorms;
    private final double totalNorm;
    private final double[] tensorNorms;
    private final double scale;
    private final double[] tensorScales;
    private final long clippedElements;
    private final long nonFiniteElements;
    private final long totalElements;
    private final boolean skipped;

    ClipReport(Operation operation, String backend, @Nullable NormType normType, boolean hasNorms, double totalNorm,
                      double[] tensorNorms, double scale, double[] tensorScales, long clippedElements,
                      long nonFiniteElements, long totalElements, boolean skipped) {
        this.operation = Objects.requireNonNull(operation, "operation");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.normType = normType;
        this.hasNorms = hasNorms;
        this.totalNorm = totalNorm;
        this.tensorNorms = tensorNorms.clone();
        this.scale = scale;
        this.tensorScales = tensorScales.clone();
        this.clippedElements = clippedElements;
        this.nonFiniteElements = nonFiniteElements;
        this.totalElements = totalElements;
        this.skipped = skipped;
    }

    public Operation operation() { return operation; }

    /** The backend that ran the operation: "cpu", "cuda" or "emulated". */
    public String backend() { return backend; }

    /** The norm type, or null for operations without norms (clip by value, scale each). */
    public @Nullable NormType normType() { return normType; }

    /** Whether norms were computed (false for clip by value). */
    public boolean hasNorms() { return hasNorms; }

    public double totalNorm() { return totalNorm; }

    /** A copy of the per-tensor norms (empty when {@link #hasNorms()} is false). */
    public double[] tensorNorms() { return tensorNorms.clone(); }

    public double tensorNorm(int i) { return tensorNorms[i]; }

    public double scale() { return scale; }

    /** A copy of the per-tensor fp64 scales (all equal to {@link #scale()} for the global norm). */
    public double[] tensorScales() { return tensorScales.clone(); }

    /** Whether anything was changed: a scale other than 1 was applied, or an element was clamped. */
    public boolean clipped() {
        if (skipped) return false;
        return clippedElements > 0;
    }

    public long clippedElements() { return clippedElements; }

    public long nonFiniteElements() { return nonFiniteElements; }

    public long totalElements() { return totalElements; }

    /** {@code clippedElements / totalElements}, 0 for an empty set. */
    public double clippedFraction() {
        return totalElements == 0 ? 0.0 : (double) clippedElements / totalElements;
    }

    public boolean skipped() { return skipped; }

    public int tensorCount() { return tensorScales.length; }

    @Override
    public String toString() {
        return "ClipReport{op=" + operation.cliName() + ", backend=" + backend
                + (hasNorms ? ", p=" + normType + ", totalNorm=" + totalNorm : "")
                + ", scale=" + scale + ", clipped=" + clippedElements + "/" + totalElements
                + ", nonFinite=" + nonFiniteElements + (skipped ? ", SKIPPED" : "")
                + (tensorNorms.length <= 8 ? ", tensorNorms=" + Arrays.toString(tensorNorms) : "") + "}";
    }
}
