package dev.gradclip.backend;

import dev.gradclip.Backend;
import dev.gradclip.ClipReport;
import dev.gradclip.GradientSet;
import dev.gradclip.NonFinitePolicy;
import dev.gradclip.NormClip;
import dev.gradclip.NormType;
import dev.gradclip.PendingReport;
import dev.gradclip.ValueClip;

/**
 * One implementation of the operations. {@link dev.gradclip.Clipper} validates every argument, checks
 * that every tensor is accessible and calls {@link #checkSupported} before calling an operation, so
 * implementations may assume valid input. All of them follow docs/canonical-reduction.md.
 */
public interface ClipBackend extends AutoCloseable {
    Backend kind();

    /** Throws {@link IllegalArgumentException} naming the first tensor this backend cannot reach. */
    void checkSupported(GradientSet set);

    ClipReport clipByValue(GradientSet set, ValueClip clip);

    ClipReport norms(GradientSet set, NormType normType, NonFinitePolicy policy);

    ClipReport clipByNorm(GradientSet set, NormClip clip);

    ClipReport clipByGlobalNorm(GradientSet set, NormClip clip);

    ClipReport renormalize(GradientSet set, NormType normType, NonFinitePolicy policy);

    /**
     * Clip by global norm without waiting for the result where the backend can (CUDA: queued on the
     * stream, the report read on demand). The default runs synchronously.
     */
    default PendingReport clipByGlobalNormAsync(GradientSet set, NormClip clip) {
        return PendingReport.completed(clipByGlobalNorm(set, clip));
    }

    /** Sets the CUDA stream (a {@code cudaStream_t} as an address; 0 = the default stream) for later operations. */
    default void setStream(long stream) {
        if (stream != 0) {
            throw new IllegalArgumentException("the " + kind().cliName() + " backend has no CUDA streams");
        }
    }

    @Override
    void close();
}
