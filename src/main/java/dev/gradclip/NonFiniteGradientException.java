package dev.gradclip;

/**
 * Thrown under {@link NonFinitePolicy#ERROR} when a norm (or, for clip by value, an element) is NaN or
 * infinite, or a scale computed from a norm is NaN. It is thrown after the measurement and before any
 * write: no tensor was modified. Instances are created by {@link Clipper} (and by {@link PendingReport#get()}).
 */
public final class NonFiniteGradientException extends ArithmeticException {
    private static final long serialVersionUID = 1L;
    /** What was measured before the operation stopped; never null. */
    private final ClipReport report;

    NonFiniteGradientException(String message, ClipReport report) {
        super(message);
        this.report = report;
    }

    /**
     * {@return what was measured before the operation stopped} Its norms and counts are those of the
     * input; its scale is 1, its clipped count 0 and {@link ClipReport#skipped()} false, since nothing was
     * applied. The report is serialized with the exception ({@link ClipReport} is serializable), so a
     * deserialized copy has it too.
     */
    public ClipReport report() {
        return report;
    }

    /**
     * Reads the fields, refusing a stream without a report (as one written before the report was serialized).
     *
     * @param in the stream
     * @throws java.io.IOException if the stream cannot be read, or {@link java.io.InvalidObjectException}
     *     if it holds no report
     * @throws ClassNotFoundException if a class of the stream is not found
     */
    private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
        in.defaultReadObject();
        if (report == null) throw new java.io.InvalidObjectException("NonFiniteGradientException stream without its report");
    }
}
