package dev.gradclip;

/** Thrown under {@link NonFinitePolicy#ERROR} when a norm or an element is NaN or infinite; nothing was modified. */
public final class NonFiniteGradientException extends ArithmeticException {
    private static final long serialVersionUID = 1L;
    private final transient ClipReport report;

    NonFiniteGradientException(String message, ClipReport report) {
        super(message);
        this.report = report;
    }

    /** What was measured before the operation stopped (norms and counts; nothing was applied). */
    public ClipReport report() {
        return report;
    }
}
