/*
 * gradclip.h - the native C API of gradclip (the CUDA backend libgradclip.so and the emulated backend
 * libgradclip-emu.so export exactly the same symbols).
 *
 * One entry point per primitive pass, mirroring the Java backend SPI (dev.gradclip.backend.ClipBackend):
 *   gc_count_nonfinite   count NaN/+-inf elements                       (writes nothing)
 *   gc_clamp             torch.clamp rule, counts                         (writes clipped elements)
 *   gc_norms             canonical norm partials                          (writes nothing)
 *   gc_scale             g_t <- g_t * s_t with per-tensor scales          (writes tensors whose applied s != 1)
 *   gc_clip_global_norm  the fused global-norm clip, scale computed on the device, optionally asynchronous
 * The caller (the Java Clipper) composes operations from the passes and applies the non-finite policy;
 * only the fused path decides the policy itself, on the device.
 *
 * All numerics follow docs/canonical-reduction.md bit for bit (p in {1, 2, inf}); in short:
 *   term(x)   = |d| (p=1, p=inf), d*d (p=2), d = (double) x
 *   chunk     = fold1024(term(x) for x in a 65,536-element chunk of one tensor)
 *   S[t]      = fold1024(chunk partials of tensor t)               (chunk c -> lane c mod 1024)
 *   S         = fold1024(S[0], ..., S[n-1])                          (tensor t -> lane t mod 1024)
 *   norm      = S (p=1, p=inf), sqrt(S) (p=2); the fold uses nanmax for p=inf
 *   general p (finite, not 1 or 2): m_t = max|x| (the p=inf pass); term = pow(|d| / m_t, p) when m_t is
 *             finite and > 0 (else the tensor's partials are +0.0 and its norm is m_t);
 *             norm_t = m_t * pow(S[t], 1/p); the total is composed by the caller from S[t] and m_t.
 *   TORCH     scale = c = M / (N + 1e-6), NaN if c is NaN else min(c, 1)
 *   TF        scale = NaN if N is not finite, 1 if N == M == 0, else M / max(N, M)
 *   applied   s32 = (float) scale for fp32/fp16/bf16 storage (y = store(float(x) * s32), RNE),
 *             scale itself for fp64 (y = x * scale); a tensor whose applied scale is exactly 1 is not
 *             written. NaN rule: a NaN element keeps its bits with the quiet bit set; a NaN product of a
 *             non-NaN element is the positive canonical quiet NaN of the storage type.
 *   clamp     y = isnan(x) ? x : (x < lo ? lo : (hi < x ? hi : x)), bounds rounded (RNE) to the storage type.
 *
 * Threading: every function may be called from any thread; one gc_engine must not be used by two
 * threads at the same time. gc_last_error() is per thread.
 */
#ifndef GRADCLIP_H
#define GRADCLIP_H

#include <stdint.h>

#if defined(_WIN32)
#define GC_API __declspec(dllexport)
#else
#define GC_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Return codes of every entry point. */
typedef enum gc_status {
  GC_OK = 0,
  GC_ERR_INVALID_ARGUMENT = 1,
  GC_ERR_CUDA = 2,
  GC_ERR_NONFINITE = 3,     /* only gc_clip_global_norm with GC_NONFINITE_ERROR */
  GC_ERR_OUT_OF_MEMORY = 4,
  GC_ERR_UNAVAILABLE = 5
} gc_status;

/** Storage types of tensor elements. fp16 = IEEE binary16, bf16 = bfloat16 (both 16-bit words). */
typedef enum gc_dtype { GC_FLOAT32 = 0, GC_FLOAT64 = 1, GC_FLOAT16 = 2, GC_BFLOAT16 = 3 } gc_dtype;

/** The p of a norm. GC_NORM_GENERAL takes its p from the `p` argument (finite, > 0, not 1 or 2). */
typedef enum gc_norm_kind { GC_NORM_L1 = 0, GC_NORM_L2 = 1, GC_NORM_INF = 2, GC_NORM_GENERAL = 3 } gc_norm_kind;

/** Scale formula of the fused global-norm clip (see above). */
typedef enum gc_semantics { GC_SEMANTICS_TORCH = 0, GC_SEMANTICS_TF = 1 } gc_semantics;

/** What the fused global-norm clip does with a non-finite total norm or a NaN scale. */
typedef enum gc_nonfinite_policy { GC_NONFINITE_PROPAGATE = 0, GC_NONFINITE_ERROR = 1, GC_NONFINITE_SKIP = 2 } gc_nonfinite_policy;

/** gc_memcpy directions. */
typedef enum gc_copy_kind { GC_COPY_HOST_TO_DEVICE = 0, GC_COPY_DEVICE_TO_HOST = 1, GC_COPY_DEVICE_TO_DEVICE = 2 } gc_copy_kind;

/** Flags of gc_clip_global_norm. */
enum { GC_FLAG_ASYNC = 1 };

/** Elements per chunk of the canonical reduction (chunks never span tensors). */
#define GC_CHUNK_ELEMENTS 65536

/**
 * The tensors of one call: n entries, as host arrays (struct of arrays). addresses: device addresses for
 * cuda, host addresses for emulated (0 allowed for an empty tensor); counts: elements (>= 0, <= 2^60);
 * dtypes: gc_dtype values. Tensors must not overlap.
 */
typedef struct gc_tensor_table {
  const int64_t* addresses;
  const int64_t* counts;
  const int32_t* dtypes;
  int64_t n;
} gc_tensor_table;

/** "cuda" or "emulated". */
GC_API const char* gc_backend_name(void);

/** Message of this thread's last failing call ("" if none). Not cleared by successful calls. */
GC_API const char* gc_last_error(void);

/**
 * GC_OK if the backend is usable. CUDA: otherwise GC_ERR_UNAVAILABLE with *cuda_error = the cudaError_t
 * of cudaGetDeviceCount (35 = insufficient driver, 100 = no device) and a message naming it.
 * Emulated: always GC_OK, *device_count = 1, *cuda_error = 0. Both pointers may be NULL.
 */
GC_API gc_status gc_probe(int32_t* device_count, int32_t* cuda_error);

/** Device memory (emulated: host heap, 256-byte aligned). bytes == 0 gives address 0. */
GC_API gc_status gc_device_alloc(int64_t bytes, int64_t* out_address);
/** Frees memory from gc_device_alloc; address 0 is a no-op. */
GC_API gc_status gc_device_free(int64_t address);
/**
 * Copies `bytes`, ordered on `stream` (after the work already queued there), synchronous with respect to the
 * host. Pass the stream the clips run on: a copy on stream 0 is NOT ordered after a clip queued on a
 * non-blocking stream (and may read the gradients before the clip wrote them).
 */
GC_API gc_status gc_memcpy(int64_t dst, int64_t src, int64_t bytes, gc_copy_kind kind, int64_t stream);

/**
 * A non-blocking stream (cudaStreamCreateWithFlags(cudaStreamNonBlocking)) on the current device, as int64, for
 * callers that have no framework stream (benchmarks, tests; emulated: a stream of the emulated runtime).
 * Destroy it with gc_stream_destroy (the work queued on it still completes).
 */
GC_API gc_status gc_stream_create(int64_t* out_stream);
GC_API gc_status gc_stream_destroy(int64_t stream);

/**
 * "Gradients ready": work queued on `stream` after this call waits until `event` has completed
 * (cudaStreamWaitEvent(stream, event, 0)); returns without waiting on the host. `event` is a cudaEvent_t as
 * int64 that the caller recorded on the stream that produced the gradients (for example the framework's
 * backward stream) after the last write. READ THIS: the default stream 0 does NOT order gradclip after work
 * on a framework's non-blocking streams, and neither does a different stream; without this wait (or
 * running on the framework's own stream) a clip can read gradients that are still being written.
 * GC_ERR_INVALID_ARGUMENT if event is 0; GC_ERR_CUDA (with the CUDA error) if CUDA refuses the handles.
 */
GC_API gc_status gc_stream_wait_event(int64_t stream, int64_t event);

/** Workspace (device slots, tables, pinned result buffer) reused across calls, grown on demand. */
typedef struct gc_engine gc_engine;
GC_API gc_status gc_engine_create(gc_engine** out);
/** Waits for a pending asynchronous clip, then frees everything. NULL is a no-op. */
GC_API void gc_engine_destroy(gc_engine* e);

/** The number of chunk partials gc_norms writes for `table`: sum over t of ceil(counts[t] / 65,536). */
GC_API gc_status gc_chunk_count(const gc_tensor_table* table, int64_t* out_chunks);

/*
 * The passes. Every pass validates its arguments before touching memory, runs on `stream` (a
 * cudaStream_t as int64, 0 = the default stream) and returns when the work is done. A further call on
 * the same engine first waits for a pending asynchronous gc_clip_global_norm; its result is then no
 * longer available to gc_clip_global_norm_wait (read it first).
 */

typedef struct gc_count_result {
  int64_t nonfinite_elements;  /* NaN or +-inf elements */
} gc_count_result;
GC_API gc_status gc_count_nonfinite(gc_engine* e, const gc_tensor_table* table, int64_t stream, gc_count_result* out);

typedef struct gc_clamp_result {
  int64_t clipped_elements;    /* x < lo || x > hi (these, and only these, were written) */
  int64_t nonfinite_elements;  /* NaN or +-inf input elements */
} gc_clamp_result;
/** lo, hi: not NaN, lo <= hi (infinite allowed); rounded to each storage type as the header says. */
GC_API gc_status gc_clamp(gc_engine* e, const gc_tensor_table* table, double lo, double hi, int64_t stream, gc_clamp_result* out);

typedef struct gc_norms_result {
  /* caller-owned output arrays, any may be NULL (then not written): */
  double* chunk_sums;      /* [gc_chunk_count] chunk partials, tensor by tensor, in chunk order */
  double* tensor_sums;     /* [n] S[t] (general p: of the terms scaled by max|x|) */
  double* tensor_max_abs;  /* [n] m_t = max|x| (written for GC_NORM_GENERAL only) */
  /* written by the call: */
  int64_t nonfinite_elements;
} gc_norms_result;
GC_API gc_status gc_norms(gc_engine* e, const gc_tensor_table* table, gc_norm_kind kind, double p, int64_t stream,
                          gc_norms_result* out);

typedef struct gc_scale_result {
  int64_t written_elements;  /* elements of the tensors whose applied scale was not exactly 1 */
} gc_scale_result;
/** tensor_scales[n] (host): any fp64 value, NaN and infinities included (the NaN rule applies). */
GC_API gc_status gc_scale(gc_engine* e, const gc_tensor_table* table, const double* tensor_scales, int64_t stream,
                          gc_scale_result* out);

typedef struct gc_global_clip_result {
  double* tensor_norms;        /* [n] caller-owned output, may be NULL */
  double total_norm;
  double scale;                /* the fp64 global scale; 1.0 when stopped */
  int64_t clipped_elements;    /* elements written (0 when stopped or the applied scale is 1) */
  int64_t nonfinite_elements;
  int32_t stopped;             /* 1: ERROR or SKIP met a non-finite norm or a NaN scale; nothing was written */
} gc_global_clip_result;

/**
 * Fused clip by global norm: norms, scale, policy and the scaled write all on the device. kind: L1, L2
 * or INF (general p is composed by the caller from gc_norms and gc_scale: GC_ERR_INVALID_ARGUMENT).
 * max_norm: finite, >= 0. Without GC_FLAG_ASYNC it waits and fills *out; returns GC_ERR_NONFINITE (with
 * *out filled, stopped = 1) when the policy is ERROR and it stopped. With GC_FLAG_ASYNC it returns after
 * queuing the work (emulated: after doing it) and writes nothing to *out: gc_clip_global_norm_wait()
 * waits and fills it (out->tensor_norms is read from that call's argument).
 */
GC_API gc_status gc_clip_global_norm(gc_engine* e, const gc_tensor_table* table, gc_norm_kind kind, double max_norm,
                                     gc_semantics semantics, gc_nonfinite_policy policy, int64_t stream, int32_t flags,
                                     gc_global_clip_result* out);

/**
 * Waits for the engine's last gc_clip_global_norm and fills *out (it may be read more than once).
 * Returns that call's status (GC_OK or GC_ERR_NONFINITE); GC_ERR_INVALID_ARGUMENT if there is none.
 */
GC_API gc_status gc_clip_global_norm_wait(gc_engine* e, gc_global_clip_result* out);

#ifdef __cplusplus
}
#endif

#endif /* GRADCLIP_H */
