package dev.gradclip.distributed;

import dev.gradclip.ClipReport;
import dev.gradclip.NormPartials;
import java.util.Objects;

/**
 * What a sharded clip did on one rank: {@link #local()}, the report of this rank's pieces (scale,
 * elements written, skipped), and {@link #global()}, the unsharded model's partials, identical on every
 * rank ({@code global().totalNorm()} is the global norm, {@code global().tensorNorm(g)} global tensor g's).
 */
public record ShardedClipReport(ClipReport local, NormPartials global) {
    public ShardedClipReport {
        Objects.requireNonNull(local, "local report is null");
        Objects.requireNonNull(global, "global partials are null");
    }

    /** The global norm N every rank clipped with. */
    public double totalNorm() {
        return global.totalNorm();
    }

    /** The scale applied on every rank (1 when nothing was clipped or the step was skipped). */
    public double scale() {
        return local.scale();
    }
}
