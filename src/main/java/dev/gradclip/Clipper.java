package dev.gradclip;

import dev.gradclip.backend.Backends;
import dev.gradclip.backend.ClipBackend;
import dev.gradclip.backend.NativeBackends;
import dev.gradclip.backend.nativeapi.DeviceBuffer;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.Pointer;

/**
 * The entry point: clips gradient sets in place on one backend and reports what it did.
 *
 * <pre>{@code
 * try (Clipper clipper = Clipper.create()) {                 // AUTO: CUDA if present, else CPU
 *     GradientSet grads = GradientSet.of(Tensor.of(w), Tensor.of(b));
 *     ClipReport r = clipper.clipByGlobalNorm(grads, NormClip.of(1.0));
 *     log(r.totalNorm(), r.scale(), r.clippedFraction());
 * }
 * }</pre>
 *
 * Every operation validates all of its input before touching any tensor: a bad argument, a closed
 * buffer or a tensor the backend cannot reach throws with a message naming it, and nothing is modified.
 * A Clipper is safe to use from one thread at a time.
 */
public final class Clipper implements AutoCloseable {
    private final ClipBackend backend;
    private final String selectionReason;
    private volatile boolean closed;

    private Clipper(ClipBackend backend, String selectionReason) {
        this.backend = backend;
        this.selectionReason = selectionReason;
    }

    /** A clipper on the best available backend (AUTO). */
    public static Clipper create() {
        return create(Backend.AUTO);
    }

    /**
     * A clipper on {@code requested}; AUTO picks CUDA when a GPU and driver are present, else CPU.
     *
     * @throws IllegalStateException if the requested backend is not available here, with the reason
     */
    public static Clipper create(Backend requested) {
        Objects.requireNonNull(requested, "backend is null");
        Backends.Selection s = Backends.open(requested);
        return new Clipper(s.backend(), s.reason());
    }

    /** Wraps an already opened backend (for tests and for callers configuring one themselves). */
    public static Clipper using(ClipBackend backend) {
        Objects.requireNonNull(backend, "backend is null");
        return new Clipper(backend, "chosen by the caller");
    }

    /** Every backend and whether it can run here, with the reason when it cannot. */
    public static List<BackendStatus> availableBackends() {
        return Backends.statuses();
    }

    /** The backend this clipper runs on. */
    public Backend backend() {
        return backend.kind();
    }

    /** Why this backend was picked (for AUTO: why the others were not). */
    public String selectionReason() {
        return selectionReason;
    }

    /**
     * Clip by value, fused: {@code g ← min(max(g, min), max)} elementwise (NaN stays NaN), counting the
     * elements outside [min, max] and the non-finite ones in the same pass.
     */
    public ClipReport clipByValue(GradientSet grads, ValueClip clip) {
        Objects.requireNonNull(clip, "value clip is null");
        prepare(grads);
        return backend.clipByValue(grads, clip);
    }

    /**
     * Norms without clipping: per tensor {@code ‖g_t‖_p} and the total {@code ‖(g_0, …, g_n)‖_p}, in fp64.
     * Under {@link NonFinitePolicy#ERROR} a non-finite total throws.
     */
    public ClipReport norms(GradientSet grads, NormType normType, NonFinitePolicy policy) {
        Objects.requireNonNull(normType, "norm type is null");
        Objects.requireNonNull(policy, "nonFinite policy is null");
        prepare(grads);
        return backend.norms(grads, normType, policy);
    }

    /** {@link #norms(GradientSet, NormType, NonFinitePolicy)} with PROPAGATE. */
    public ClipReport norms(GradientSet grads, NormType normType) {
        return norms(grads, normType, NonFinitePolicy.PROPAGATE);
    }

    /**
     * Clip by norm, per tensor (TF {@code clip_by_norm}, Keras {@code clipnorm}, DL4J ClipL2PerLayer):
     * {@code g_t ← g_t · scale(‖g_t‖_p, M)} for each tensor t on its own.
     */
    public ClipReport clipByNorm(GradientSet grads, NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        prepare(grads);
        return backend.clipByNorm(grads, clip);
    }

    /**
     * Clip by global norm ({@code torch.nn.utils.clip_grad_norm_}, {@code tf.clip_by_global_norm},
     * Optax, Keras {@code global_clipnorm}): {@code N = ‖(g_0, …, g_n)‖_p},
     * {@code g_t ← g_t · scale(N, M)} for every t; tensors are not written when the scale is exactly 1.
     */
    public ClipReport clipByGlobalNorm(GradientSet grads, NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        prepare(grads);
        return backend.clipByGlobalNorm(grads, clip);
    }

    /**
     * {@link #clipByGlobalNorm} without waiting: on the CUDA backend, with every tensor in device memory,
     * the kernels are queued on the clipper's stream and the call returns at once; the scale is computed
     * and applied on the device (nothing is written when it is exactly 1), and the host reads the norm
     * only when {@link PendingReport#get()} is called. Other backends, and sets that need staging, run
     * synchronously and return a completed report. The next operation on this clipper reads the
     * previous pending report first (the engine keeps one result).
     */
    public PendingReport clipByGlobalNormAsync(GradientSet grads, NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        prepare(grads);
        return backend.clipByGlobalNormAsync(grads, clip);
    }

    /**
     * Runs later operations on the CUDA stream {@code cudaStream} (a {@code cudaStream_t}, as an address;
     * 0 is the default stream). Only the CUDA backend has streams.
     */
    public Clipper onStream(long cudaStream) {
        if (closed) throw new IllegalStateException("Clipper is closed");
        backend.setStream(cudaStream);
        return this;
    }

    /** {@link #onStream(long)} with a JavaCPP presets stream ({@code cudaStream_t} / {@code CUstream_st}). */
    public Clipper onStream(Pointer cudaStream) {
        Objects.requireNonNull(cudaStream, "stream is null");
        return onStream(cudaStream.address());
    }

    /**
     * Allocates {@code count} elements in this backend's device memory (CUDA: GPU memory; EMULATED: host
     * memory the emulated kernels read directly), through gradclip's own C API. Its {@link DeviceBuffer#tensor()}
     * is clipped in place without staging. Close it to free the memory.
     */
    public DeviceBuffer allocate(DType dtype, long count) {
        if (closed) throw new IllegalStateException("Clipper is closed");
        Backend kind = backend.kind();
        if (kind != Backend.CUDA && kind != Backend.EMULATED) {
            throw new IllegalStateException("the " + kind.cliName() + " backend has no device memory");
        }
        return new DeviceBuffer(NativeBackends.api(kind), kind, dtype, count);
    }

    /**
     * DL4J renormalize, per tensor: {@code g_t ← g_t / ‖g_t‖_p} always, with a zero norm taken as 1e-5.
     */
    public ClipReport renormalize(GradientSet grads, NormType normType, NonFinitePolicy policy) {
        Objects.requireNonNull(normType, "norm type is null");
        Objects.requireNonNull(policy, "nonFinite policy is null");
        prepare(grads);
        return backend.renormalize(grads, normType, policy);
    }

    private void prepare(GradientSet grads) {
        if (closed) throw new IllegalStateException("Clipper is closed");
        Objects.requireNonNull(grads, "gradient set is null");
        grads.checkAccessible();
        backend.checkSupported(grads);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            backend.close();
        }
    }

    @Override
    public String toString() {
        return "Clipper{" + backend.kind().cliName() + ": " + selectionReason + "}";
    }
}
