package dev.gradclip;

import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.ObjectStreamField;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What one operation measured and did: what a trainer logs each step. Immutable and thread-safe; built
 * only by {@link Clipper}; the arrays it returns are copies.
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
 *
 * <p>Serializable (so that a {@link NonFiniteGradientException} keeps its report): the stream holds
 * every value above, and reading it back runs the same checks as {@link Clipper}'s construction and
 * copies the arrays, so a deserialized report is as immutable as the original.
 */
public final class ClipReport implements Serializable {
    private static final long serialVersionUID = 1L;
    /** None: the stream holds the serial form that {@link #writeReplace()} returns, never these fields. */
    private static final ObjectStreamField[] serialPersistentFields = {};
    private final Operation operation;
    private final String backend;
    private final @Nullable NormType normType;
    private final boolean hasNorms;
    private final double totalNorm;
    private final double[] tensorNorms;
    private final double scale;
    /** Null when every tensor's scale is {@link #scale} (no per-tensor array is kept then). */
    private final double @Nullable [] tensorScales;
    private final int tensorCount;
    private final long clippedElements;
    private final long nonFiniteElements;
    private final long totalElements;
    private final boolean skipped;

    /**
     * Takes ownership of the arrays: {@code tensorNorms} and {@code tensorScales} must be arrays that no one
     * writes any more (fresh ones, or the never-written arrays of a {@link NormPartials}); a report made
     * per training step copies nothing here (bench/NOTES.md item 21: 10,000 tensors made ~1 MB of garbage
     * per call, and in a JVM whose heap was not touched yet every fresh page costs a fault).
     *
     * @param tensorScales each tensor's scale, or null when every one is {@code scale}
     * @param tensorCount the number of tensors of the set (the length of {@code tensorScales} when given)
     */
    ClipReport(Operation operation, String backend, @Nullable NormType normType, boolean hasNorms, double totalNorm,
                      double[] tensorNorms, double scale, double @Nullable [] tensorScales, int tensorCount, long clippedElements,
                      long nonFiniteElements, long totalElements, boolean skipped) {
        if (tensorScales != null && tensorScales.length != tensorCount) {
            throw new IllegalArgumentException(tensorScales.length + " tensor scales for " + tensorCount + " tensors");
        }
        this.operation = Objects.requireNonNull(operation, "operation");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.normType = normType;
        this.hasNorms = hasNorms;
        this.totalNorm = totalNorm;
        this.tensorNorms = tensorNorms;
        this.scale = scale;
        this.tensorScales = tensorScales;
        this.tensorCount = tensorCount;
        this.clippedElements = clippedElements;
        this.nonFiniteElements = nonFiniteElements;
        this.totalElements = totalElements;
        this.skipped = skipped;
    }

    /** {@return the operation that ran} */
    public Operation operation() { return operation; }

    /** {@return the backend that ran the operation: "cpu", "cuda" or "emulated"} */
    public String backend() { return backend; }

    /** {@return the norm type, or null for the operations without norms (clip by value, scale each)} */
    public @Nullable NormType normType() { return normType; }

    /** {@return whether norms were computed} False for clip by value and scale each. */
    public boolean hasNorms() { return hasNorms; }

    /**
     * {@return the norm of the whole set before the operation, {@code ‖(g_0, …, g_{n-1})‖_p}} NaN when the
     * operation computes no norm ({@link #hasNorms()} false); for {@link Clipper#clipWithTotalNorm} the
     * caller's total norm; NaN or +∞ when the gradients hold a non-finite element (NaN wins over ∞).
     */
    public double totalNorm() { return totalNorm; }

    /**
     * {@return a copy of the per-tensor norms before the operation, in set order} Empty when
     * {@link #hasNorms()} is false; all NaN for {@link Clipper#clipWithTotalNorm}, which does not read
     * the gradients.
     */
    public double[] tensorNorms() { return tensorNorms.clone(); }

    /**
     * {@return tensor {@code i}'s norm before the operation, without copying the array}
     *
     * @param i the tensor's index in the set
     * @throws IndexOutOfBoundsException if {@code i} is not an index of {@link #tensorNorms()}
     */
    public double tensorNorm(int i) { return tensorNorms[i]; }

    /**
     * {@return the scale applied} For clip by global norm the one scale of every tensor; for the
     * per-tensor operations the smallest tensor scale (NaN if any is NaN); for scale each the smallest
     * factor; 1 for clip by value, norms and an operation stopped by SKIP or ERROR.
     */
    public double scale() { return scale; }

    /**
     * {@return a copy of the per-tensor fp64 scales, in set order} All equal to {@link #scale()} for the
     * global norm; the caller's factors for scale each; all 1 for clip by value, norms and a stopped operation.
     */
    public double[] tensorScales() {
        if (tensorScales != null) return tensorScales.clone();
        double[] all = new double[tensorCount];
        Arrays.fill(all, scale);
        return all;
    }

    /**
     * {@return whether anything was changed} True when an element was clamped or a tensor was written
     * with a scale other than 1, i.e. {@code clippedElements() > 0}; false for a skipped operation.
     */
    public boolean clipped() {
        if (skipped) return false;
        return clippedElements > 0;
    }

    /**
     * {@return the elements written} For clip by value the elements with {@code x < min} or
     * {@code x > max}; for the scaling operations the elements of the tensors whose applied factor (after
     * rounding to the storage type's arithmetic) was not exactly 1; 0 for norms and a stopped operation.
     */
    public long clippedElements() { return clippedElements; }

    /**
     * {@return the NaN or infinite input elements} 0 when the operation did not read the gradients
     * ({@link Clipper#clipWithTotalNorm}, {@link Clipper#scaleEach}).
     */
    public long nonFiniteElements() { return nonFiniteElements; }

    /** {@return the number of elements of the set, the sum of its tensors' sizes} */
    public long totalElements() { return totalElements; }

    /** {@return {@code clippedElements / totalElements}, or 0 for an empty set} */
    public double clippedFraction() {
        return totalElements == 0 ? 0.0 : (double) clippedElements / totalElements;
    }

    /**
     * {@return whether {@link NonFinitePolicy#SKIP} stopped the operation} Then no tensor was written, and
     * the norms and counts are those measured.
     */
    public boolean skipped() { return skipped; }

    /** {@return the number of tensors of the set} */
    public int tensorCount() { return tensorCount; }

    /**
     * Writes a {@code ClipReport.SerialForm} in place of this report (the serialization-proxy pattern): it
     * holds this report's values (the norm type as its p), and reading it back runs the constructor.
     *
     * @return the serial form of this report
     */
    private Object writeReplace() {
        return new SerialForm(this);
    }

    /**
     * Refuses a stream that holds a ClipReport's own fields: this class never writes one.
     *
     * @param in the stream
     * @throws InvalidObjectException always
     */
    private void readObject(ObjectInputStream in) throws InvalidObjectException {
        throw new InvalidObjectException("a ClipReport is read through its serial form");
    }

    /** The serialized form of a {@link ClipReport}: its values; read back through the constructor. */
    private static final class SerialForm implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Operation operation;
        private final String backend;
        private final double normP;   // the p of the norm type; NaN for none (NormType is not serializable)
        private final boolean hasNorms;
        private final double totalNorm;
        private final double[] tensorNorms;
        private final double scale;
        private final double[] tensorScales;
        private final long clippedElements;
        private final long nonFiniteElements;
        private final long totalElements;
        private final boolean skipped;

        SerialForm(ClipReport r) {
            operation = r.operation;
            backend = r.backend;
            normP = r.normType == null ? Double.NaN : r.normType.p();
            hasNorms = r.hasNorms;
            totalNorm = r.totalNorm;
            tensorNorms = r.tensorNorms;
            scale = r.scale;
            tensorScales = r.tensorScales != null ? r.tensorScales : r.tensorScales();
            clippedElements = r.clippedElements;
            nonFiniteElements = r.nonFiniteElements;
            totalElements = r.totalElements;
            skipped = r.skipped;
        }

        private Object readResolve() throws InvalidObjectException {
            if (operation == null || backend == null || tensorNorms == null || tensorScales == null) {
                throw new InvalidObjectException("ClipReport stream lacks a value");
            }
            NormType normType;
            try {
                normType = Double.isNaN(normP) ? null : NormType.of(normP);
            } catch (IllegalArgumentException e) {
                throw new InvalidObjectException("ClipReport stream has norm type p = " + normP);
            }
            // copies: the stream's arrays may be reachable from elsewhere in the stream (back references)
            return new ClipReport(operation, backend, normType, hasNorms, totalNorm, tensorNorms.clone(), scale, tensorScales.clone(),
                    tensorScales.length, clippedElements, nonFiniteElements, totalElements, skipped);
        }
    }

    @Override
    public String toString() {
        return "ClipReport{op=" + operation.cliName() + ", backend=" + backend
                + (hasNorms ? ", p=" + normType + ", totalNorm=" + totalNorm : "")
                + ", scale=" + scale + ", clipped=" + clippedElements + "/" + totalElements
                + ", nonFinite=" + nonFiniteElements + (skipped ? ", SKIPPED" : "")
                + (tensorNorms.length <= 8 ? ", tensorNorms=" + Arrays.toString(tensorNorms) : "") + "}";
    }
}
