package dev.gradclip.distributed;

/**
 * A {@link GradientExchange} could not complete: a rank failed, left or did not arrive in time, or the
 * ranks disagree about the model (different tensor counts, sizes, norm types or overlapping pieces).
 * No gradient was modified.
 */
public class ExchangeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ExchangeException(String message) {
        super(message);
    }

    public ExchangeException(String message, Throwable cause) {
        super(message, cause);
    }
}
