package dev.gradclip;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * The report of an operation queued without waiting for it (the CUDA backend's sync-free mode). The
 * gradients are clipped in stream order; {@link #get()} waits for the operation only when called, and
 * only then does the host learn the norm. Backends that run synchronously return a completed one.
 */
public final class PendingReport {
    private Supplier<ClipReport> source;
    private ClipReport report;
    private RuntimeException failure;

    PendingReport(Supplier<ClipReport> source) {
        this.source = Objects.requireNonNull(source);
    }

    /** A report that is already known. */
    public static PendingReport completed(ClipReport report) {
        PendingReport p = new PendingReport(() -> report);
        p.get();
        return p;
    }

    /** A report read from {@code source} on the first {@link #get()} (for backends). */
    public static PendingReport deferred(Supplier<ClipReport> source) {
        return new PendingReport(source);
    }

    /** Whether the report has been read already. */
    public synchronized boolean isRead() {
        return source == null;
    }

    /**
     * Waits for the operation and returns its report; later calls return the same report.
     *
     * @throws NonFiniteGradientException under {@link NonFinitePolicy#ERROR} when the norm was not finite
     *     (the device wrote nothing)
     */
    public synchronized ClipReport get() {
        if (source != null) {
            try {
                report = source.get();
            } catch (RuntimeException e) {
                failure = e;
            }
            source = null;
        }
        if (failure != null) throw failure;
        return report;
    }
}
