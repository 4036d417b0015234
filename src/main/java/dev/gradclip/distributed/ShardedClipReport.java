package dev.gradclip.distributed;

import dev.gradclip.ClipReport;
import dev.gradclip.NormPartials;
import java.util.Objects;

/**
 * What a sharded clip did on one rank: {@link #local()}, the report of this rank's pieces (scale,
 * elements written, skipped), and {@link #global()}, the unsharded model's partials, identical on every
 * rank ({@code global().totalNorm()} is the global norm, {@code global().tensorNorm(g)} global tensor g's).
 * Immutable.
 *
 * @param local the report of this rank's pieces; its tensor norms are NaN (not measured again)
 * @param global the partials of the unsharded model, identical on every rank
 */
public record ShardedClipReport(ClipReport local, NormPartials global) {
    /**
     * Checks the parts.
     *
     * @param local the report of this rank's pieces
     * @param global the partials of the unsharded model
     * @throws NullPointerException if an argument is null
     */
    public ShardedClipReport {
        Objects.requireNonNull(local, "local report is null");
        Objects.requireNonNull(global, "global partials are null");
    }

    /** {@return the global norm N every rank clipped with, {@code global().totalNorm()}} */
    public double totalNorm() {
        return global.totalNorm();
    }

    /**
     * {@return the scale applied on every rank, {@code local().scale()}} 1 when nothing was clipped or the
     * step was stopped by SKIP.
     */
    public double scale() {
        return local.scale();
    }
}
