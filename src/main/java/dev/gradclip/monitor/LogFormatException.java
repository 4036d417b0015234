package dev.gradclip.monitor;

import java.io.IOException;

/** A monitor log that is not what {@link MonitorLog} reads: malformed JSON, a wrong field, no steps. */
public final class LogFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public LogFormatException(String message) {
        super(message);
    }
}
