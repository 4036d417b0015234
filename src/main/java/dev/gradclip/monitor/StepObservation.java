package dev.gradclip.monitor;

import dev.gradclip.ClipReport;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;
import dev.gradclip.Operation;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What one training step's clipping measured and did: the plain per-step observation the
 * {@link GradientMonitor} records. Immutable (arrays are copied in and out).
 *
 * <ul>
 *   <li>{@link #step()}: the step number (any long; logs written by the monitor count from 0);
 *   <li>{@link #file()}: the step's source file ({@code replay}), or null;
 *   <li>{@link #totalNorm()}: the norm of all gradients together <em>before</em> clipping; NaN or ±∞
 *       when the gradients held non-finite values;
 *   <li>{@link #totalNormAfter()}: the same after clipping, NaN when not known;
 *   <li>{@link #tensorNorms()}, {@link #tensorNormsAfter()}: per tensor, before and after, in the
 *       monitor's tensor order; empty when not measured (an entry is NaN when that tensor's norm is
 *       NaN or not known);
 *   <li>{@link #threshold()}: the clipping threshold used at this step, NaN when the step had none
 *       ({@link #hasThreshold()}; written as JSON {@code null});
 *   <li>{@link #scale()}: the global scale applied (the smallest per-tensor scale for per-tensor
 *       clipping), 1 when nothing was scaled, NaN when not known;
 *   <li>{@link #clipped()}: whether clipping changed any element;
 *   <li>{@link #clippedFraction()}: the fraction of elements clipping changed (clamped elements, or
 *       elements of rescaled tensors), NaN when not known;
 *   <li>{@link #skipped()}: the step was skipped (non-finite policy SKIP, spike skipping): the
 *       gradients were left untouched;
 *   <li>{@link #nonFiniteElements()}: NaN or infinite gradient elements before clipping (−1 when not
 *       counted);
 *   <li>{@link #foundInf()}: a non-finite value was found (mixed-precision loss scaling's
 *       {@code found_inf}; set when {@code nonFiniteElements > 0} or the total norm is ±∞).
 * </ul>
 */
public final class StepObservation {
    private static final double[] NONE = new double[0];

    private final long step;
    private final @Nullable String file;
    private final double totalNorm;
    private final double totalNormAfter;
    private final double[] tensorNorms;
    private final double[] tensorNormsAfter;
    private final double threshold;
    private final double scale;
    private final boolean clipped;
    private final double clippedFraction;
    private final boolean skipped;
    private final long nonFiniteElements;
    private final boolean foundInf;

    private StepObservation(Builder b) {
        this.step = b.step;
        this.file = b.file;
        this.totalNorm = b.totalNorm;
        this.totalNormAfter = b.totalNormAfter;
        this.tensorNorms = b.tensorNorms.clone();
        this.tensorNormsAfter = b.tensorNormsAfter.clone();
        this.threshold = b.threshold;
        this.scale = b.scale;
        this.clipped = b.clipped;
        this.clippedFraction = b.clippedFraction;
        this.skipped = b.skipped;
        this.nonFiniteElements = b.nonFiniteElements;
        this.foundInf = b.foundInf || b.nonFiniteElements > 0 || Double.isInfinite(b.totalNorm);
    }

    /**
     * {@return a builder for step {@code step} whose pre-clip total norm is {@code totalNorm}}
     *
     * @param step the step number
     * @param totalNorm the total norm before clipping: ≥ 0, NaN or +∞
     * @throws IllegalArgumentException if {@code totalNorm} is negative
     */
    public static Builder builder(long step, double totalNorm) {
        return new Builder(step, totalNorm);
    }

    /**
     * The observation of one gradclip operation, from its report.
     *
     * <p>Before: the report's total and per-tensor norms (the report must carry norms: for clip by
     * value measure them first with {@code Clipper.norms} and use {@link #builder}). After: derived,
     * not re-measured, from the exact identity ‖s·g‖ = s·‖g‖ (s ≥ 0): for clip by global norm every
     * norm times {@code scale}; for clip by norm (per tensor) each tensor's norm times its own scale
     * and the total combined from them with the report's norm type ((Σ a_t^p)^(1/p), max for ∞); for
     * {@code norms} and skipped steps the norms before. The stored gradients are rounded to their
     * dtype after scaling, so a re-measured norm can differ from the derived one in the last bits.
     *
     * @param step the step number
     * @param report the report of the step's operation, with norms
     * @param threshold the threshold of this step (NaN for none)
     * @return the observation
     * @throws IllegalArgumentException if the report carries no norms, or {@code threshold} is negative
     */
    public static StepObservation fromReport(long step, ClipReport report, double threshold) {
        Objects.requireNonNull(report, "report");
        if (!report.hasNorms()) {
            throw new IllegalArgumentException("the report of " + report.operation().cliName()
                    + " carries no norms: measure them with Clipper.norms and use StepObservation.builder");
        }
        double[] before = report.tensorNorms();
        double[] after = before.clone();
        double totalAfter = report.totalNorm();
        if (!report.skipped()) {
            Operation op = report.operation();
            if (op == Operation.CLIP_GLOBAL_NORM) {
                double s = report.scale();
                for (int i = 0; i < after.length; i++) after[i] = before[i] * s;
                totalAfter = report.totalNorm() * s;
            } else if (op == Operation.CLIP_NORM) {
                double[] scales = report.tensorScales();
                for (int i = 0; i < after.length; i++) after[i] = before[i] * scales[i];
                totalAfter = combine(after, report.normType());
            } else if (op != Operation.NORMS) {
                Arrays.fill(after, Double.NaN);
                totalAfter = Double.NaN;
            }
        }
        return builder(step, report.totalNorm())
                .tensorNorms(before)
                .after(totalAfter, after)
                .threshold(threshold)
                .scale(report.scale())
                .clipped(report.clipped())
                .clippedFraction(report.clippedFraction())
                .skipped(report.skipped())
                .nonFiniteElements(report.nonFiniteElements())
                .build();
    }

    /**
     * The observation of a two-phase step: the norms before from phase one ({@code Clipper.partials}), what was
     * applied from phase two's report ({@code Clipper.clipWithTotalNorm}: one global scale s; {@code
     * Clipper.scaleEach}: a factor f_t per tensor), or {@code null} when nothing was applied. After: derived as in
     * {@link #fromReport} (s·‖g‖ and s·‖g_t‖; per-tensor factors f_t·‖g_t‖ with the total combined by the norm type);
     * a skipped report leaves the norms as they were.
     *
     * @param step the step number
     * @param before the partials of phase one
     * @param applied the phase-two report, or null when the step applied nothing (scale 1, not clipped)
     * @param threshold the threshold of this step (NaN for none)
     * @return the observation
     * @throws IllegalArgumentException if {@code applied} is of another operation or for another number of
     *     tensors, or {@code threshold} is negative
     */
    public static StepObservation fromTwoPhase(long step, NormPartials before, @Nullable ClipReport applied, double threshold) {
        Objects.requireNonNull(before, "before");
        double[] norms = before.tensorNorms();
        double[] after = norms.clone();
        double totalAfter = before.totalNorm();
        Builder b = builder(step, before.totalNorm()).tensorNorms(norms).threshold(threshold)
                .nonFiniteElements(before.nonFiniteElements());
        if (applied != null) {
            if (applied.tensorCount() != norms.length) {
                throw new IllegalArgumentException("the applied report has " + applied.tensorCount() + " tensors, the "
                        + "partials " + norms.length);
            }
            if (applied.operation() != Operation.CLIP_GLOBAL_NORM && applied.operation() != Operation.SCALE) {
                throw new IllegalArgumentException("phase two is clipWithTotalNorm or scaleEach, not "
                        + applied.operation().cliName());
            }
            if (!applied.skipped()) {
                double[] f = applied.tensorScales();
                for (int i = 0; i < after.length; i++) after[i] = norms[i] * f[i];
                totalAfter = applied.operation() == Operation.CLIP_GLOBAL_NORM ? before.totalNorm() * applied.scale()
                        : combine(after, before.normType());
            }
            b.scale(applied.scale()).clipped(applied.clipped()).clippedFraction(applied.clippedFraction())
                    .skipped(applied.skipped());
        }
        return b.after(totalAfter, after).build();
    }

    /** (Σ a_t^p)^(1/p) in fp64 (sum for p = 1, the square root of the sum of squares for 2, max for ∞). */
    static double combine(double[] norms, @Nullable NormType p) {
        if (p == null || norms.length == 0) return norms.length == 0 ? 0.0 : Double.NaN;
        if (p.isInfinity()) {
            double m = 0;
            for (double a : norms) m = (Double.isNaN(a) || Double.isNaN(m)) ? Double.NaN : Math.max(m, a);
            return m;
        }
        double e = p.p();
        double s = 0;
        for (double a : norms) s += e == 1 ? a : e == 2 ? a * a : Math.pow(a, e);
        return e == 1 ? s : e == 2 ? Math.sqrt(s) : Math.pow(s, 1 / e);
    }

    /** {@return the step number} */
    public long step() { return step; }

    /** {@return the step's source file, or null} */
    public @Nullable String file() { return file; }

    /** {@return the norm of all gradients together before clipping (NaN or +∞ for non-finite gradients)} */
    public double totalNorm() { return totalNorm; }

    /** {@return the norm of all gradients together after clipping, or NaN when not known} */
    public double totalNormAfter() { return totalNormAfter; }

    /** {@return a copy of the per-tensor norms before clipping (empty when not measured)} */
    public double[] tensorNorms() { return tensorNorms.clone(); }

    /** {@return a copy of the per-tensor norms after clipping (empty when not known)} */
    public double[] tensorNormsAfter() { return tensorNormsAfter.clone(); }

    /** {@return the number of per-tensor norms before clipping (0 when not measured)} */
    public int tensorCount() { return tensorNorms.length; }

    /**
     * {@return tensor {@code i}'s norm before clipping, without copying the array}
     *
     * @param i the tensor's index in the monitor's order
     * @throws IndexOutOfBoundsException if {@code i} is outside {@code [0, tensorCount())}
     */
    public double tensorNorm(int i) { return tensorNorms[i]; }

    /**
     * {@return tensor {@code i}'s norm after clipping, without copying the array}
     *
     * @param i the tensor's index in the monitor's order
     * @throws IndexOutOfBoundsException if no after-norms are known or {@code i} is out of range
     */
    public double tensorNormAfter(int i) { return tensorNormsAfter[i]; }

    /** {@return the threshold of this step, or NaN when none ({@link #hasThreshold()} false)} */
    public double threshold() { return threshold; }

    /** {@return whether the step had a threshold ({@link #threshold()} is not NaN)} */
    public boolean hasThreshold() { return !Double.isNaN(threshold); }

    /**
     * {@return the global scale applied} The smallest per-tensor scale for per-tensor clipping; 1 when
     * nothing was scaled; NaN when not known.
     */
    public double scale() { return scale; }

    /** {@return whether clipping changed any element} */
    public boolean clipped() { return clipped; }

    /** {@return the fraction of elements clipping changed, in [0, 1], or NaN when not known} */
    public double clippedFraction() { return clippedFraction; }

    /** {@return whether the step was skipped, its gradients left untouched} */
    public boolean skipped() { return skipped; }

    /** {@return the NaN or infinite gradient elements before clipping, or −1 when not counted} */
    public long nonFiniteElements() { return nonFiniteElements; }

    /**
     * {@return whether a non-finite value was found} Set when given, when {@code nonFiniteElements() > 0}
     * or when the total norm is ±∞.
     */
    public boolean foundInf() { return foundInf; }

    @Override
    public boolean equals(@Nullable Object o) {
        if (this == o) return true;
        if (!(o instanceof StepObservation s)) return false;
        return step == s.step && Objects.equals(file, s.file) && same(totalNorm, s.totalNorm)
                && same(totalNormAfter, s.totalNormAfter) && Arrays.equals(tensorNorms, s.tensorNorms)
                && Arrays.equals(tensorNormsAfter, s.tensorNormsAfter) && same(threshold, s.threshold)
                && same(scale, s.scale) && clipped == s.clipped && same(clippedFraction, s.clippedFraction)
                && skipped == s.skipped && nonFiniteElements == s.nonFiniteElements && foundInf == s.foundInf;
    }

    private static boolean same(double a, double b) {
        return Double.compare(a, b) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(step, file, totalNorm, totalNormAfter, Arrays.hashCode(tensorNorms),
                Arrays.hashCode(tensorNormsAfter), threshold, scale, clipped, clippedFraction, skipped,
                nonFiniteElements, foundInf);
    }

    @Override
    public String toString() {
        return "StepObservation{step=" + step + (file == null ? "" : ", file=" + file) + ", totalNorm=" + totalNorm
                + ", after=" + totalNormAfter + ", threshold=" + threshold + ", scale=" + scale + ", clipped="
                + clipped + ", clippedFraction=" + clippedFraction + ", skipped=" + skipped + ", nonFinite="
                + nonFiniteElements + ", foundInf=" + foundInf + ", tensors=" + tensorNorms.length + "}";
    }

    /**
     * Builds a {@link StepObservation}. Defaults: no file, after-norms unknown (NaN / empty), no
     * threshold, scale 1, not clipped, clipped fraction 0, not skipped, 0 non-finite elements.
     * Every setter checks its argument.
     */
    public static final class Builder {
        private final long step;
        private final double totalNorm;
        private @Nullable String file;
        private double totalNormAfter = Double.NaN;
        private double[] tensorNorms = NONE;
        private double[] tensorNormsAfter = NONE;
        private double threshold = Double.NaN;
        private double scale = 1.0;
        private boolean clipped;
        private double clippedFraction;
        private boolean skipped;
        private long nonFiniteElements;
        private boolean foundInf;

        private Builder(long step, double totalNorm) {
            if (totalNorm < 0) throw new IllegalArgumentException("total norm must not be negative, got " + totalNorm);
            this.step = step;
            this.totalNorm = totalNorm;
        }

        /**
         * Sets the step's source file.
         *
         * @param file the file's name, or null for none
         * @return this builder
         */
        public Builder file(@Nullable String file) {
            this.file = file;
            return this;
        }

        /**
         * Sets the per-tensor norms before clipping.
         *
         * @param norms one norm per tensor, in the monitor's order (copied; NaN allowed, negative values are not)
         * @return this builder
         * @throws IllegalArgumentException if a norm is negative
         */
        public Builder tensorNorms(double[] norms) {
            this.tensorNorms = checkNorms(norms, "tensor norms").clone();
            return this;
        }

        /**
         * Sets the total and per-tensor norms after clipping.
         *
         * @param total the total norm after clipping, ≥ 0 or NaN (not known)
         * @param norms one norm per tensor (copied; NaN = not known), or empty when not known
         * @return this builder
         * @throws IllegalArgumentException if a norm is negative
         */
        public Builder after(double total, double[] norms) {
            if (total < 0) throw new IllegalArgumentException("norm after clipping must not be negative, got " + total);
            this.totalNormAfter = total;
            this.tensorNormsAfter = checkNorms(norms, "tensor norms after clipping").clone();
            return this;
        }

        /**
         * Sets the threshold of the step.
         *
         * @param threshold ≥ 0, or NaN for none
         * @return this builder
         * @throws IllegalArgumentException if {@code threshold} is negative
         */
        public Builder threshold(double threshold) {
            if (threshold < 0) throw new IllegalArgumentException("threshold must not be negative, got " + threshold);
            this.threshold = threshold;
            return this;
        }

        /**
         * Sets the scale applied.
         *
         * @param scale ≥ 0, or NaN when not known
         * @return this builder
         * @throws IllegalArgumentException if {@code scale} is negative
         */
        public Builder scale(double scale) {
            if (scale < 0) throw new IllegalArgumentException("scale must not be negative, got " + scale);
            this.scale = scale;
            return this;
        }

        /**
         * Sets whether clipping changed any element.
         *
         * @param clipped whether it did
         * @return this builder
         */
        public Builder clipped(boolean clipped) {
            this.clipped = clipped;
            return this;
        }

        /**
         * Sets the fraction of elements clipping changed.
         *
         * @param fraction in [0, 1], or NaN when not known
         * @return this builder
         * @throws IllegalArgumentException if {@code fraction} is outside [0, 1]
         */
        public Builder clippedFraction(double fraction) {
            if (fraction < 0 || fraction > 1) {
                throw new IllegalArgumentException("clipped fraction must be in [0, 1] (or NaN), got " + fraction);
            }
            this.clippedFraction = fraction;
            return this;
        }

        /**
         * Sets whether the step was skipped (gradients untouched).
         *
         * @param skipped whether it was
         * @return this builder
         */
        public Builder skipped(boolean skipped) {
            this.skipped = skipped;
            return this;
        }

        /**
         * Sets the NaN/±∞ elements before clipping.
         *
         * @param count ≥ 0, or −1 when not counted
         * @return this builder
         * @throws IllegalArgumentException if {@code count} is below −1
         */
        public Builder nonFiniteElements(long count) {
            if (count < -1) throw new IllegalArgumentException("non-finite count must be >= -1, got " + count);
            this.nonFiniteElements = count;
            return this;
        }

        /**
         * Sets found-inf (mixed precision's {@code found_inf}); {@link #build()} also sets it when the count of
         * non-finite elements is positive or the total norm is ±∞.
         *
         * @param foundInf whether a non-finite value was found
         * @return this builder
         */
        public Builder foundInf(boolean foundInf) {
            this.foundInf = foundInf;
            return this;
        }

        /**
         * {@return the observation} The builder may be used again.
         *
         * @throws IllegalArgumentException if after-norms are given for a different number of tensors
         *     than the before-norms
         */
        public StepObservation build() {
            if (tensorNormsAfter.length != 0 && tensorNormsAfter.length != tensorNorms.length) {
                throw new IllegalArgumentException("tensor norms after clipping: " + tensorNormsAfter.length
                        + " values for " + tensorNorms.length + " tensors");
            }
            return new StepObservation(this);
        }

        private static double[] checkNorms(double[] norms, String what) {
            Objects.requireNonNull(norms, what);
            for (int i = 0; i < norms.length; i++) {
                if (norms[i] < 0) throw new IllegalArgumentException(what + "[" + i + "] is negative: " + norms[i]);
            }
            return norms;
        }
    }
}
