package dev.gradclip;

import dev.gradclip.backend.Backends;
import dev.gradclip.backend.ClampCounts;
import dev.gradclip.backend.ClipBackend;
import dev.gradclip.backend.DeviceMemory;
import dev.gradclip.backend.GlobalClipResult;
import dev.gradclip.backend.PendingGlobalClip;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.DoubleUnaryOperator;
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
 * A failure of the device (CUDA, or the emulated runtime) throws {@link IllegalStateException} naming the
 * call and the CUDA error ({@link OutOfMemoryError} for an allocation); after a sticky error the message says
 * "the CUDA context is lost": every later CUDA call of the process fails, and the process must restart its
 * CUDA work. A failed wait never yields a stale result.
 * A Clipper is safe to use from one thread at a time.
 *
 * <p>It is not thread-safe: threads sharing one clipper must not run operations at the same time
 * (several clippers may run in parallel). While an operation runs, the {@link NativeBuffer}s and
 * {@link DeviceBuffer}s its tensors belong to are pinned open (a concurrent {@code close()} of one waits).
 * Close the clipper to release the backend's native resources; buffers it allocated stay valid until
 * they are closed themselves.
 */
public final class Clipper implements AutoCloseable {
    private final ClipBackend backend;
    private final String selectionReason;
    private volatile boolean closed;

    private Clipper(ClipBackend backend, String selectionReason) {
        this.backend = backend;
        this.selectionReason = selectionReason;
    }

    /**
     * {@return a clipper on the best available backend, {@code create(Backend.AUTO)}} AUTO is always
     * available (it falls back to the CPU); {@link #create(Backend)} says what it picks, and
     * {@link #selectionReason()} why.
     */
    public static Clipper create() {
        return create(Backend.AUTO);
    }

    /**
     * A clipper on {@code requested}. AUTO with a GPU and driver present runs each gradient set where its
     * tensors live: a set with a tensor in device memory ({@link Tensor#onDevice}, {@link DeviceBuffer}) on
     * CUDA, a set of host tensors (arrays, buffers, native memory) on the CPU, in place (CUDA would copy each
     * tensor to the GPU and back per call); without a GPU, AUTO is the CPU.
     *
     * @param requested the backend to open
     * @return an open clipper on that backend
     * @throws IllegalStateException if the requested backend is not available here, with the reason
     */
    public static Clipper create(Backend requested) {
        Objects.requireNonNull(requested, "backend is null");
        Backends.Selection s = Backends.open(requested);
        return new Clipper(s.backend(), s.reason());
    }

    /**
     * Wraps an already opened backend: for gradclip's own tests (the backend SPI is not exported, so
     * this is not API; trainers use {@link #create(Backend)}).
     */
    static Clipper using(ClipBackend backend) {
        Objects.requireNonNull(backend, "backend is null");
        return new Clipper(backend, "chosen by the caller");
    }

    /**
     * {@return CPU, CUDA and EMULATED, in that order, each with whether it can run here and what it runs on
     * or why not} Loads the native libraries where present and counts the CUDA devices; opens no backend.
     */
    public static List<BackendStatus> availableBackends() {
        return Backends.statuses();
    }

    /**
     * {@return the backend this clipper runs on: CPU, CUDA or EMULATED, or AUTO when it runs each set where
     * its tensors live} See {@link #create(Backend)}; each {@link ClipReport#backend()} names the one that ran.
     */
    public Backend backend() {
        return backend.kind();
    }

    /** {@return why this backend was picked} For AUTO it also says why CUDA was not, when it was not. */
    public String selectionReason() {
        return selectionReason;
    }

    /**
     * Clip by value with the {@code torch.clamp} rule on the CPU (what {@code clip_grad_value_} runs):
     * bounds first rounded to each storage type (to fp32 once, then to fp16/bf16 with round-to-nearest-even;
     * fp64 keeps them), then per element {@code y = x < min ? min : (max < x ? max : x)}. A NaN compares false
     * and keeps its bits; a value equal to a bound (−0.0 against +0.0) is kept. Counts the elements with
     * {@code x < min || x > max} ({@link ClipReport#clippedElements()}, the only ones written) and the NaN/±∞
     * ones. Under ERROR or SKIP a non-finite element stops the operation before anything is written.
     *
     * @param grads the gradients, clipped in place
     * @param clip the bounds and the non-finite policy
     * @return what was clamped and counted; {@link ClipReport#skipped()} under SKIP with a non-finite element
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     * @throws NonFiniteGradientException under ERROR when an element is NaN or infinite (nothing written)
     */
    public ClipReport clipByValue(GradientSet grads, ValueClip clip) {
        Objects.requireNonNull(clip, "value clip is null");
        try (Pinned pinned = prepare(grads)) {
            ClipBackend b = pinned.backend;
            NonFinitePolicy policy = clip.nonFinite();
            if (policy != NonFinitePolicy.PROPAGATE) {
                long nonFinite = b.countNonFinite(grads);
                if (nonFinite > 0) {
                    ClipReport report = valueReport(b, grads, 0, nonFinite, policy == NonFinitePolicy.SKIP);
                    if (policy == NonFinitePolicy.ERROR) {
                        throw new NonFiniteGradientException(nonFinite + " non-finite gradient element(s); nothing was clipped", report);
                    }
                    return report;
                }
            }
            ClampCounts counts = b.clamp(grads, clip.min(), clip.max());
            return valueReport(b, grads, counts.clipped(), counts.nonFinite(), false);
        }
    }

    private static ClipReport valueReport(ClipBackend b, GradientSet grads, long clipped, long nonFinite, boolean skipped) {
        return new ClipReport(Operation.CLIP_VALUE, name(b), null, false, Double.NaN, new double[0], 1.0, null, grads.size(),
                clipped, nonFinite, grads.totalElements(), skipped);
    }

    /**
     * Norms without clipping: per tensor {@code ‖g_t‖_p} and the total {@code ‖(g_0, …, g_n)‖_p}, in fp64 by the
     * canonical reduction (see {@link NormPartials} for the exact formulas, general p included). Under
     * {@link NonFinitePolicy#ERROR} a non-finite total throws {@link NonFiniteGradientException};
     * PROPAGATE and SKIP report it. Writes nothing.
     *
     * @param grads the gradients, read only
     * @param normType the p of the norms
     * @param policy ERROR to throw on a non-finite total norm
     * @return the norms; its scale is 1 and nothing is clipped
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     * @throws NonFiniteGradientException under ERROR when the total norm is NaN or infinite
     */
    public ClipReport norms(GradientSet grads, NormType normType, NonFinitePolicy policy) {
        Objects.requireNonNull(normType, "norm type is null");
        Objects.requireNonNull(policy, "nonFinite policy is null");
        try (Pinned pinned = prepare(grads)) {
            NormPartials n = pinned.backend.norms(grads, normType);
            ClipReport report = new ClipReport(Operation.NORMS, name(pinned.backend), normType, true, n.totalNorm(),
                    n.tensorNormsShared(), 1.0, null, grads.size(), 0, n.nonFiniteElements(), grads.totalElements(), false);
            if (policy == NonFinitePolicy.ERROR && !Double.isFinite(n.totalNorm())) {
                throw new NonFiniteGradientException("total " + normType + "-norm is " + n.totalNorm(), report);
            }
            return report;
        }
    }

    /**
     * {@link #norms(GradientSet, NormType, NonFinitePolicy)} with PROPAGATE: the norms, never an exception
     * for non-finite values.
     *
     * @param grads the gradients, read only
     * @param normType the p of the norms
     * @return the norms; its scale is 1 and nothing is clipped
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     */
    public ClipReport norms(GradientSet grads, NormType normType) {
        return norms(grads, normType, NonFinitePolicy.PROPAGATE);
    }

    /**
     * Phase one of a two-phase clip: the canonical partials of every tensor (chunk sums {@code P[t][c]},
     * tensor sums {@code S_t}, {@code max|x|} for a general p, the non-finite count), from which
     * {@link NormPartials#totalNorm()} folds {@code ‖(g_0, …, g_n)‖_p} exactly as every operation does.
     * Partials of several sets (for example of several workers or parameter groups) can be combined by
     * the caller; {@link #clipWithTotalNorm} applies the result. Writes nothing.
     *
     * @param grads the gradients, read only
     * @param normType the p of the norms
     * @return the exact partials of the set
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     */
    public NormPartials partials(GradientSet grads, NormType normType) {
        Objects.requireNonNull(normType, "norm type is null");
        try (Pinned pinned = prepare(grads)) {
            return pinned.backend.norms(grads, normType);
        }
    }

    /**
     * Clip by norm, per tensor (TF {@code clip_by_norm}, Keras {@code clipnorm}, DL4J ClipL2PerLayer):
     * {@code g_t ← g_t · scale(‖g_t‖_p, M)} for each tensor t on its own, with {@code scale} of
     * {@link Semantics}. A non-finite tensor norm or a NaN scale stops the whole operation under ERROR or SKIP.
     * {@link ClipReport#scale()} is the smallest tensor scale (NaN if any is NaN).
     *
     * @param grads the gradients, clipped in place
     * @param clip the threshold M, the norm type, the semantics and the non-finite policy
     * @return the tensor norms and scales; {@link ClipReport#skipped()} when SKIP stopped the operation
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     * @throws NonFiniteGradientException under ERROR when a tensor norm is not finite or a scale is NaN
     *     (nothing written)
     */
    public ClipReport clipByNorm(GradientSet grads, NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        try (Pinned pinned = prepare(grads)) {
            NormPartials n = pinned.backend.norms(grads, clip.normType());
            return perTensor(pinned.backend, grads, n, Operation.CLIP_NORM, clip.normType(), clip.nonFinite(),
                    norm -> clip.semantics().scale(norm, clip.maxNorm()));
        }
    }

    /**
     * Clip by global norm ({@code torch.nn.utils.clip_grad_norm_}, {@code tf.clip_by_global_norm},
     * Optax, Keras {@code global_clipnorm}): {@code N = ‖(g_0, …, g_n)‖_p}, {@code s = scale(N, M)}
     * ({@link Semantics}: TORCH {@code min(M/(N+1e-6), 1)}, TF {@code M/max(N, M)} with 0/0 taken as 1),
     * {@code g_t ← g_t · s} for every t; tensors are not written when the applied scale is exactly 1.
     * A non-finite N or a NaN s stops the operation under ERROR (throws) or SKIP (reports a skip).
     *
     * @param grads the gradients, clipped in place
     * @param clip the threshold M, the norm type, the semantics and the non-finite policy
     * @return the norms and the scale s; {@link ClipReport#skipped()} when SKIP stopped the operation
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     * @throws NonFiniteGradientException under ERROR when N is not finite or s is NaN (nothing written)
     */
    public ClipReport clipByGlobalNorm(GradientSet grads, NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        try (Pinned pinned = prepare(grads)) {
            NormPartials n = pinned.backend.norms(grads, clip.normType());
            return global(pinned.backend, grads, clip, Operation.CLIP_GLOBAL_NORM, n.totalNorm(), n.tensorNormsShared(), n.nonFiniteElements());
        }
    }

    /**
     * Phase two of a two-phase clip: {@code g_t ← g_t · scale(N, M)} for every t with a total norm
     * {@code N = totalNorm} computed by the caller (typically {@link NormPartials#totalNorm()} of
     * {@link #partials}, possibly combined across sets), under the clip's semantics and non-finite policy,
     * decided on {@code N} (and a NaN scale) exactly as in {@link #clipByGlobalNorm}. The gradients are
     * not read: the report's tensor norms are NaN (not measured) and its non-finite count is 0.
     *
     * @param grads the gradients, scaled in place
     * @param clip the threshold M, the semantics and the non-finite policy (its norm type is reported only)
     * @param totalNorm N, any double (NaN and ∞ are decided by the clip's non-finite policy)
     * @return the scale applied; {@link ClipReport#skipped()} when SKIP stopped the operation
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     * @throws NonFiniteGradientException under ERROR when N is not finite or the scale is NaN (nothing written)
     */
    public ClipReport clipWithTotalNorm(GradientSet grads, NormClip clip, double totalNorm) {
        Objects.requireNonNull(clip, "norm clip is null");
        try (Pinned pinned = prepare(grads)) {
            return global(pinned.backend, grads, clip, Operation.CLIP_GLOBAL_NORM, totalNorm, filled(grads.size(), Double.NaN), 0);
        }
    }

    /**
     * Scales every tensor by its own factor: {@code g_t ← g_t · f_t} (adaptive clipping, loss-scale
     * unscaling, parameter groups), with the canonical apply (fp32/fp16/bf16: one fp32 multiply by
     * {@code (float) f_t}, fp64 by {@code f_t}) and the NaN rule; a tensor whose applied factor is exactly 1
     * is not written. {@link ClipReport#scale()} is the smallest factor; the gradients are not measured
     * (no norms, non-finite count 0).
     *
     * @param grads the gradients, scaled in place
     * @param factors one finite factor per tensor, in set order (copied)
     * @return the factors as {@link ClipReport#tensorScales()}, the elements written as
     *     {@link ClipReport#clippedElements()}
     * @throws IllegalArgumentException if the length differs from the set's size or a factor is NaN or
     *     infinite, or this backend cannot reach a tensor; nothing is modified
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     */
    public ClipReport scaleEach(GradientSet grads, double[] factors) {
        Objects.requireNonNull(factors, "factors are null");
        Objects.requireNonNull(grads, "gradient set is null");
        if (factors.length != grads.size()) {
            throw new IllegalArgumentException(factors.length + " factors for " + grads.size() + " tensors");
        }
        double[] f = factors.clone();
        double min = f.length == 0 ? 1.0 : Double.POSITIVE_INFINITY;
        for (int t = 0; t < f.length; t++) {
            if (!Double.isFinite(f[t])) throw new IllegalArgumentException("factor " + t + " is " + f[t] + "; factors must be finite");
            min = Math.min(min, f[t]);
        }
        try (Pinned pinned = prepare(grads)) {
            long written = pinned.backend.scale(grads, f);
            return new ClipReport(Operation.SCALE, name(pinned.backend), null, false, Double.NaN, new double[0], min, f, f.length, written, 0,
                    grads.totalElements(), false);
        }
    }

    /**
     * Runs {@code operation}: {@link ClipOperation.ByValue} → {@link #clipByValue}, {@link ClipOperation.ByNorm}
     * → {@link #clipByNorm}, {@link ClipOperation.ByGlobalNorm} → {@link #clipByGlobalNorm},
     * {@link ClipOperation.Renormalize} → {@link #renormalize}, {@link ClipOperation.Norms} →
     * {@link #norms(GradientSet, NormType, NonFinitePolicy)}; the formulas, reports and exceptions are theirs.
     *
     * @param grads the gradients, clipped in place (read only for {@code Norms})
     * @param operation the operation to run
     * @return the report of that operation
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     * @throws NonFiniteGradientException under ERROR, as the operation's method documents
     */
    public ClipReport apply(GradientSet grads, ClipOperation operation) {
        Objects.requireNonNull(operation, "operation is null");
        if (operation instanceof ClipOperation.ByValue v) return clipByValue(grads, v.clip());
        if (operation instanceof ClipOperation.ByNorm n) return clipByNorm(grads, n.clip());
        if (operation instanceof ClipOperation.ByGlobalNorm g) return clipByGlobalNorm(grads, g.clip());
        if (operation instanceof ClipOperation.Renormalize r) return renormalize(grads, r.normType(), r.nonFinite());
        ClipOperation.Norms n = (ClipOperation.Norms) operation;
        return norms(grads, n.normType(), n.nonFinite());
    }

    /**
     * {@link #clipByGlobalNorm} without waiting: on the CUDA backend, with every tensor in device memory
     * and p = 1, 2 or ∞, the kernels are queued on the clipper's stream and the call returns at once; the
     * scale and the policy decision are computed on the device (nothing is written when the applied scale
     * is exactly 1, or when ERROR/SKIP stops it), and the host reads the norm only when
     * {@link PendingReport#get()} is called (which throws {@link NonFiniteGradientException} under ERROR).
     * Other backends, and sets that need staging, run synchronously and return a completed report. The
     * next operation on this clipper reads the previous pending report first (the engine keeps one result).
     * The caller must not modify or free the gradients' memory before the report is read (or a later
     * operation on this clipper has run).
     *
     * @param grads the gradients, clipped in place in stream order
     * @param clip the threshold M, the norm type, the semantics and the non-finite policy
     * @return the pending report; {@link PendingReport#get()} waits for the kernels
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     * @throws NonFiniteGradientException under ERROR, when the operation ran synchronously (otherwise
     *     {@link PendingReport#get()} throws it)
     */
    public PendingReport clipByGlobalNormAsync(GradientSet grads, NormClip clip) {
        Objects.requireNonNull(clip, "norm clip is null");
        try (Pinned pinned = prepare(grads)) {
            ClipBackend b = pinned.backend;
            if (!b.supportsFusedGlobalNorm(grads, clip)) {
                return PendingReport.completed(clipByGlobalNorm(grads, clip));
            }
            PendingGlobalClip pending = b.clipByGlobalNormFused(grads, clip);
            return new PendingReport(() -> fusedReport(b, grads, clip, pending.await()), pending::isDone);
        }
    }

    private static ClipReport fusedReport(ClipBackend b, GradientSet grads, NormClip clip, GlobalClipResult r) {
        int n = grads.size();
        boolean skip = r.stopped() && clip.nonFinite() == NonFinitePolicy.SKIP;
        ClipReport report = new ClipReport(Operation.CLIP_GLOBAL_NORM, name(b), clip.normType(), true, r.totalNorm(),
                r.tensorNorms().clone(), r.stopped() ? 1.0 : r.scale(), null, n, r.writtenElements(),
                r.nonFiniteElements(), grads.totalElements(), skip);
        if (r.stopped() && clip.nonFinite() == NonFinitePolicy.ERROR) {
            throw new NonFiniteGradientException(problem(clip.normType(), r.totalNorm(), clip.semantics().scale(r.totalNorm(),
                    clip.maxNorm())) + "; nothing was scaled", report);
        }
        return report;
    }

    private static String problem(NormType p, double total, double scale) {
        if (!Double.isFinite(total)) return "total " + p + "-norm is " + total;
        if (Double.isNaN(scale)) return "the scale for total " + p + "-norm " + total + " is NaN";
        return null;
    }

    /** Decides by the policy on N and the scale, then applies one scale to every tensor. */
    private static ClipReport global(ClipBackend b, GradientSet grads, NormClip clip, Operation op, double total, double[] tensorNorms,
                                     long nonFinite) {
        double s = clip.semantics().scale(total, clip.maxNorm());
        return applyScales(b, grads, op, clip.normType(), total, tensorNorms, nonFinite, s, filled(grads.size(), s),
                clip.nonFinite(), problem(clip.normType(), total, s));
    }

    private static ClipReport perTensor(ClipBackend b, GradientSet grads, NormPartials n, Operation op, NormType p,
                                        NonFinitePolicy policy, DoubleUnaryOperator rule) {
        double[] norms = n.tensorNormsShared(); // read here, then owned by the report like NormPartials: never written
        double[] scales = new double[norms.length];
        double min = scales.length == 0 ? 1.0 : Double.POSITIVE_INFINITY;
        String problem = null;
        for (int t = 0; t < scales.length; t++) {
            scales[t] = rule.applyAsDouble(norms[t]);
            min = Double.isNaN(min) || Double.isNaN(scales[t]) ? Double.NaN : Math.min(min, scales[t]);
            if (problem == null && (!Double.isFinite(norms[t]) || Double.isNaN(scales[t]))) {
                problem = "tensor " + t + " has " + p + "-norm " + norms[t] + (Double.isFinite(norms[t]) ? " and a NaN scale" : "");
            }
        }
        return applyScales(b, grads, op, p, n.totalNorm(), norms, n.nonFiniteElements(), min, scales, policy, problem);
    }

    private static ClipReport applyScales(ClipBackend b, GradientSet grads, Operation op, NormType p, double total,
                                          double[] tensorNorms, long nonFinite, double scale, double[] scales, NonFinitePolicy policy,
                                          String problem) {
        if (problem != null && policy != NonFinitePolicy.PROPAGATE) {
            ClipReport report = new ClipReport(op, name(b), p, true, total, tensorNorms, 1.0, null, grads.size(), 0, nonFinite,
                    grads.totalElements(), policy == NonFinitePolicy.SKIP);
            if (policy == NonFinitePolicy.ERROR) {
                throw new NonFiniteGradientException(problem + "; nothing was scaled", report);
            }
            return report;
        }
        long written = b.scale(grads, scales);
        return new ClipReport(op, name(b), p, true, total, tensorNorms, scale, scales, scales.length, written, nonFinite,
                grads.totalElements(), false);
    }

    private static String name(ClipBackend b) {
        return b.kind().cliName();
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        Arrays.fill(a, v);
        return a;
    }

    /**
     * Runs later operations, and the copies of this clipper's {@link DeviceBuffer}s, on the CUDA stream
     * {@code cudaStream} (a {@code cudaStream_t}, as an address; 0 is the default stream). Only the CUDA
     * backend has streams (the emulated backend takes the emulated runtime's, for tests); the others accept
     * only 0. <b>Pass the framework's current stream</b>: the default stream 0 is not ordered after work on
     * a framework's non-blocking streams (PyTorch's included), so a clip on stream 0 may read gradients the
     * backward pass is still writing; or record an event after the backward pass and call
     * {@link #waitFor(long)}.
     *
     * @param cudaStream the stream's address, or 0 for the default stream
     * @return this clipper
     * @throws IllegalStateException if this clipper is closed
     * @throws IllegalArgumentException if {@code cudaStream} is not 0 and the backend has no CUDA streams
     */
    public Clipper onStream(long cudaStream) {
        if (closed) throw new IllegalStateException("Clipper is closed");
        backend.setStream(cudaStream);
        return this;
    }

    /**
     * {@link #onStream(long)} with a JavaCPP presets stream ({@code cudaStream_t} / {@code CUstream_st}).
     *
     * @param cudaStream the stream; its address is read once, here
     * @return this clipper
     * @throws IllegalStateException if this clipper is closed
     * @throws IllegalArgumentException if the stream's address is not 0 and the backend has no CUDA streams
     */
    public Clipper onStream(Pointer cudaStream) {
        Objects.requireNonNull(cudaStream, "stream is null");
        return onStream(cudaStream.address());
    }

    /**
     * "Gradients ready": the operations queued on this clipper's stream after this call wait on the device
     * until {@code cudaEvent} (a {@code cudaEvent_t} as an address) has completed:
     * {@code cudaStreamWaitEvent(stream, cudaEvent, 0)}. The host does not wait. Record the event on the
     * stream that wrote the gradients (the framework's backward stream) after the last write, then call this
     * before the clip. <b>Needed whenever the clip does not run on that same stream</b>: neither the default
     * stream 0 nor another stream is ordered after a framework's non-blocking streams. The wait binds to the
     * stream current at this call ({@link #onStream}). Only the CUDA backend (and the emulated one, with the
     * emulated runtime's events) has events.
     *
     * @param cudaEvent the event's address, recorded after the last write of the gradients
     * @return this clipper
     * @throws IllegalArgumentException if {@code cudaEvent} is 0 or the backend has no events
     * @throws IllegalStateException if this clipper is closed, or CUDA refuses the stream or event (the
     *     message names the CUDA error)
     */
    public Clipper waitFor(long cudaEvent) {
        if (closed) throw new IllegalStateException("Clipper is closed");
        backend.waitForEvent(cudaEvent);
        return this;
    }

    /**
     * {@link #waitFor(long)} with a JavaCPP presets event ({@code cudaEvent_t} / {@code CUevent_st}).
     *
     * @param cudaEvent the event, recorded after the last write of the gradients
     * @return this clipper
     * @throws NullPointerException if {@code cudaEvent} is null
     * @throws IllegalArgumentException if the event's address is 0 or the backend has no events
     * @throws IllegalStateException if this clipper is closed, or CUDA refuses the stream or event
     */
    public Clipper waitFor(Pointer cudaEvent) {
        Objects.requireNonNull(cudaEvent, "event is null");
        return waitFor(cudaEvent.address());
    }

    /**
     * Allocates {@code count} elements in this backend's device memory (CUDA: GPU memory; EMULATED: host
     * memory the emulated kernels read directly), through gradclip's own C API. Its {@link DeviceBuffer#tensor()}
     * is clipped in place without staging. Close it to free the memory; it stays valid after this clipper
     * is closed.
     *
     * @param dtype the type of the elements
     * @param count the number of elements, ≥ 0
     * @return the open buffer; its contents are not initialised (cudaMalloc does not zero memory)
     * @throws IllegalArgumentException if {@code count} is negative or {@code count × dtype.byteSize()}
     *     overflows 64 bits (before anything is allocated)
     * @throws IllegalStateException if this backend has no device memory (CPU)
     * @throws OutOfMemoryError if the device cannot allocate it
     */
    public DeviceBuffer allocate(DType dtype, long count) {
        if (closed) throw new IllegalStateException("Clipper is closed");
        Objects.requireNonNull(dtype, "dtype is null");
        DeviceMemory memory = backend.deviceMemory();
        return new DeviceBuffer(memory, memory.kind(), dtype, count);
    }

    /**
     * DL4J renormalize, per tensor: {@code g_t ← g_t · (1 / ‖g_t‖_p)} always, with a zero norm taken as 1e-5
     * ({@code scale = 1 / (N == 0 ? 1e-5 : N)}). A non-finite tensor norm stops the operation under ERROR
     * or SKIP. The factor {@code 1 / N} is computed in fp64 and applied by the canonical scale pass
     * ({@code g_t ← g_t · s_t}, not a division per element).
     *
     * @param grads the gradients, scaled in place
     * @param normType the p of the norms
     * @param policy what to do when a tensor norm is NaN or infinite
     * @return the tensor norms and factors; {@link ClipReport#skipped()} when SKIP stopped the operation
     * @throws IllegalStateException if this clipper is closed, or a tensor's memory was closed or freed
     *     (naming the tensor); nothing is modified
     * @throws IllegalArgumentException if this backend cannot reach a tensor (device memory on the CPU,
     *     another backend's device buffer), naming it; nothing is modified
     * @throws NonFiniteGradientException under ERROR when a tensor norm is not finite (nothing written)
     */
    public ClipReport renormalize(GradientSet grads, NormType normType, NonFinitePolicy policy) {
        Objects.requireNonNull(normType, "norm type is null");
        Objects.requireNonNull(policy, "nonFinite policy is null");
        try (Pinned pinned = prepare(grads)) {
            NormPartials n = pinned.backend.norms(grads, normType);
            return perTensor(pinned.backend, grads, n, Operation.RENORMALIZE, normType, policy, Semantics::renormalizeScale);
        }
    }

    /**
     * Validates the set and pins the memory of every tensor owned by a gradclip buffer open until the
     * returned handle is closed: a {@link NativeBuffer#close()} or {@link DeviceBuffer#close()} on another
     * thread waits for the operation instead of freeing memory under it.
     */
    private Pinned prepare(GradientSet grads) {
        if (closed) throw new IllegalStateException("Clipper is closed");
        Objects.requireNonNull(grads, "gradient set is null");
        Pinned pinned = new Pinned(grads, backend.forSet(grads));
        try {
            pinned.pinAll();
            pinned.backend.checkSupported(grads);
        } catch (RuntimeException e) {
            pinned.close();
            throw e;
        }
        return pinned;
    }

    /**
     * The guards pinned for one operation, and the backend that runs it ({@link ClipBackend#forSet}): the
     * set's guards ({@code GradientSet#guards}, one per run of views of one buffer, listed when the set was
     * made), so pinning walks a compact array instead of every tensor, its buffer and its guard. With
     * 10,000 tensors of their own buffers that walk, twice per call, was ~0.1 ms of cache misses on the
     * calling thread alone (bench/NOTES.md item 33).
     */
    private static final class Pinned implements AutoCloseable {
        private final GradientSet grads;
        private final ClipBackend backend;
        /** Guards [0, end) of the set are pinned. */
        private int end;

        Pinned(GradientSet grads, ClipBackend backend) {
            this.grads = grads;
            this.backend = backend;
        }

        /**
         * Pins every guard of the set, then checks the views that have none ({@link Tensor#checkAccessible()}:
         * JavaCPP pointers); a pinned guard is open, which is all a guarded view's check asks.
         *
         * @throws IllegalStateException naming a tensor whose memory is closed or freed
         */
        void pinAll() {
            if (grads.heapOnly()) return; // Java arrays have no guard and are always accessible
            MemoryGuard[] guards = grads.guards();
            for (int k = 0; k < guards.length; k++) {
                if (!guards[k].pin()) {
                    int i = grads.guardTensor(k);
                    String what = grads.get(i) instanceof Tensor.Device ? "device buffer" : "NativeBuffer";
                    throw new IllegalStateException("tensor " + i + ": tensor view of a closed " + what);
                }
                end = k + 1;
            }
            for (int i : grads.unguardedChecks()) {
                try {
                    grads.get(i).checkAccessible();
                } catch (IllegalStateException e) {
                    throw new IllegalStateException("tensor " + i + ": " + e.getMessage(), e);
                }
            }
        }

        @Override
        public void close() {
            MemoryGuard[] guards = grads.guards();
            for (int k = 0; k < end; k++) guards[k].unpin();
            end = 0;
        }
    }

    /**
     * Closes the backend (for CUDA: reads a pending report first and destroys the engine and its stream
     * resources); idempotent. Later operations throw {@link IllegalStateException}; device buffers it
     * allocated stay valid until closed themselves.
     */
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
