package dev.gradclip.monitor;

import java.io.IOException;

/** A monitor log that is not what {@link MonitorLog} reads: malformed JSON, a wrong field, no steps. */
public final class LogFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * A log that cannot be read, with the reason.
     *
     * @param message what is wrong and where (the source and line)
     */
    public LogFormatException(String message) {
        super(message);
    }
}
