package dev.gradclip.distributed;

/**
 * A {@link GradientExchange} could not complete: a rank failed, left or did not arrive in time, or the
 * ranks disagree about the model (different tensor counts, sizes, norm types or overlapping pieces).
 * No gradient was modified.
 */
public class ExchangeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * An exchange failure.
     *
     * @param message what failed, naming the rank(s) or the disagreement
     */
    public ExchangeException(String message) {
        super(message);
    }

    /**
     * An exchange failure caused by another exception (for example the engine's own error, or an interrupt).
     *
     * @param message what failed, naming the rank(s)
     * @param cause the underlying failure
     */
    public ExchangeException(String message, Throwable cause) {
        super(message, cause);
    }
}
