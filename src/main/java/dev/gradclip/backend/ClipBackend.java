package dev.gradclip.backend;

import dev.gradclip.Backend;
import dev.gradclip.GradientSet;
import dev.gradclip.NormClip;
import dev.gradclip.NormPartials;
import dev.gradclip.NormType;

/**
 * The backend SPI: primitive passes over a gradient set, returning plain values. {@link dev.gradclip.Clipper}
 * composes the operations from them, applies the non-finite policies, builds every
 * {@link dev.gradclip.ClipReport} and throws {@link dev.gradclip.NonFiniteGradientException}; a backend never
 * does. Before any pass the Clipper has validated every argument, checked that every tensor is accessible
 * (owners pinned open for the duration) and called {@link #checkSupported}, so implementations may assume
 * valid input. Every pass follows docs/canonical-reduction.md bit for bit (p = 1, 2, ∞).
 */
public interface ClipBackend extends AutoCloseable {
    Backend kind();

    /** Throws {@link IllegalArgumentException} naming the first tensor this backend cannot reach. */
    void checkSupported(GradientSet set);

    /** The number of NaN or ±∞ elements in the set; writes nothing. */
    long countNonFinite(GradientSet set);

    /**
     * Clamps in place with the torch rule, bounds first rounded to each storage type (fp32 once, then
     * fp16/bf16 RNE): {@code y = x < lo ? lo : (hi < x ? hi : x)}; a NaN element is never written.
     * {@code min ≤ max}, neither NaN.
     */
    ClampCounts clamp(GradientSet set, double min, double max);

    /** The canonical norm partials of every tensor ({@link NormPartials}); writes nothing. */
    NormPartials norms(GradientSet set, NormType p);

    /**
     * {@code g_t ← g_t · s_t} with the canonical apply (fp32 multiply by {@code (float) s_t}, fp64 by
     * {@code s_t}, the wide path for a scale that is not a normal float) and the NaN rule. A tensor whose
     * applied scale is exactly 1 is not touched.
     *
     * @param tensorScales one fp64 scale per tensor (any value, NaN and infinities included)
     * @return the number of elements written (those of the tensors whose applied scale is not 1)
     */
    long scale(GradientSet set, double[] tensorScales);

    /**
     * Whether {@link #clipByGlobalNormFused} can run this clip with the scale computed where the data
     * live (CUDA: on the device, without a host synchronisation). False by default: the Clipper then
     * composes the clip from {@link #norms} and {@link #scale}.
     */
    default boolean supportsFusedGlobalNorm(GradientSet set, NormClip clip) {
        return false;
    }

    /**
     * The fused global-norm clip, queued without waiting where the backend can: norms, the scale
     * {@code clip.semantics().scale(N, M)}, the stop decision (a non-finite N or a NaN scale under ERROR
     * or SKIP writes nothing) and the scaled write, all where the data live. The Clipper interprets the
     * result (throws under ERROR, reports a skip). Called only when {@link #supportsFusedGlobalNorm} said so.
     */
    default PendingGlobalClip clipByGlobalNormFused(GradientSet set, NormClip clip) {
        throw new UnsupportedOperationException("the " + kind().cliName() + " backend has no fused global-norm clip");
    }

    /** This backend's device memory, for {@link dev.gradclip.DeviceBuffer}; the CPU backend has none. */
    default DeviceMemory deviceMemory() {
        throw new IllegalStateException("the " + kind().cliName() + " backend has no device memory");
    }

    /**
     * The backend that runs the passes on {@code set}: this one, or for AUTO the one where the set's tensors
     * live ({@link AutoBackend#route}). The Clipper calls the passes on the backend returned.
     */
    default ClipBackend forSet(GradientSet set) {
        return this;
    }

    /**
     * Sets the CUDA stream (a {@code cudaStream_t} as an address; 0 = the default stream) for later passes
     * and device-memory copies.
     */
    default void setStream(long stream) {
        if (stream != 0) {
            throw new IllegalArgumentException("the " + kind().cliName() + " backend has no CUDA streams");
        }
    }

    /**
     * Makes work queued on the current stream after this call wait for {@code event} (a {@code cudaEvent_t} as an
     * address, recorded by the caller after the gradients were written): {@code cudaStreamWaitEvent}.
     */
    default void waitForEvent(long event) {
        throw new IllegalArgumentException("the " + kind().cliName() + " backend has no CUDA streams or events");
    }

    @Override
    void close();
}
