package dev.gradclip;

import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The report of an operation queued without waiting for it (the CUDA backend's sync-free mode, from
 * {@link Clipper#clipByGlobalNormAsync}). The gradients are clipped in stream order; {@link #get()} waits
 * for the operation only when called, and only then does the host learn the norm. Backends that run
 * synchronously return a completed one. Thread-safe: {@link #get()} may be called from any thread, and
 * the result is read from the backend once.
 */
public final class PendingReport {
    private @Nullable Supplier<ClipReport> source;
    private final BooleanSupplier arrived;
    private @Nullable ClipReport report;
    private @Nullable RuntimeException failure;

    PendingReport(Supplier<ClipReport> source, BooleanSupplier arrived) {
        this.source = Objects.requireNonNull(source);
        this.arrived = Objects.requireNonNull(arrived);
    }

    /** A report that is already known. */
    static PendingReport completed(ClipReport report) {
        PendingReport p = new PendingReport(() -> report, () -> true);
        p.get();
        return p;
    }

    /**
     * {@return whether the result has been read from the backend already} Then {@link #get()} does not
     * wait: after {@code get()}, or once the clipper read it to run a later operation.
     */
    public synchronized boolean isRead() {
        return source == null || arrived.getAsBoolean();
    }

    /**
     * Waits for the operation and returns its report; later calls return the same report (or throw the
     * same exception).
     *
     * @return the report of the operation
     * @throws NonFiniteGradientException under {@link NonFinitePolicy#ERROR} when the norm was not finite
     *     (the device wrote nothing)
     * @throws IllegalStateException when the device failed (the message names the call and the CUDA error;
     *     "the CUDA context is lost" after a sticky error); no stale result is ever returned
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
