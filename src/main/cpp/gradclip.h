/*
 * gradclip.h - the native C API of gradclip (CUDA backend libgradclip.so and the emulated backend
 * libgradclip-emu.so export exactly the same symbols).
 *
 * All numerics follow docs/canonical-reduction.md bit for bit (p in {1, 2, inf}); in short:
 *   term(x)   = |d| (p=1, p=inf), d*d (p=2), pow(|d|, p) (other p), d = (double) x
 *   S_chunk   = fold1024(term(x) for x in a 65,536-element chunk of one tensor)
 *   S[t]      = fold1024(S_chunk[t][0], S_chunk[t][1], ...)        (chunk c -> lane c mod 1024)
 *   S         = fold1024(S[0], ..., S[n-1])                          (tensor t -> lane t mod 1024)
 *   norm      = S (p=1, p=inf), sqrt(S) (p=2), pow(S, 1/p) otherwise; fold uses nanmax for p=inf
 *   TORCH     scale = c = M / (N + 1e-6), NaN if c is NaN else min(c, 1)
 *   TF        scale = NaN if N is not finite, else M / max(N, M)
 *   RENORMALIZE scale = 1 / (N == 0 ? 1e-5 : N)
 *   applied   s32 = (float) scale for fp32/fp16/bf16 storage (y = store(float(x) * s32), RNE),
 *             scale itself for fp64 (y = x * scale); a tensor whose applied scale is exactly 1 is not written.
 *   CLIP_VALUE  y = isnan(x) ? x : min'(max'(x, lo), hi), bounds rounded (RNE) to the storage type.
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

/** Return codes. */
enum { GC_OK = 0, GC_ERR_INVALID_ARGUMENT = 1, GC_ERR_CUDA = 2, GC_ERR_NONFINITE = 3, GC_ERR_OUT_OF_MEMORY = 4, GC_ERR_UNAVAILABLE = 5 };
/** Storage types of tensor elements. fp16 = IEEE binary16, bf16 = bfloat16 (both stored as 16-bit words). */
enum { GC_FLOAT32 = 0, GC_FLOAT64 = 1, GC_FLOAT16 = 2, GC_BFLOAT16 = 3 };
/** Operations of gc_run. RENORMALIZE is per tensor: scale = 1 / (norm == 0 ? 1e-5 : norm). */
enum { GC_OP_CLIP_VALUE = 0, GC_OP_NORMS = 1, GC_OP_CLIP_NORM = 2, GC_OP_CLIP_GLOBAL_NORM = 3, GC_OP_RENORMALIZE = 4 };
/** Scale formula for CLIP_NORM / CLIP_GLOBAL_NORM (see above). */
enum { GC_SEMANTICS_TORCH = 0, GC_SEMANTICS_TF = 1 };
/** What to do with a non-finite norm (CLIP_VALUE: with any non-finite element). */
enum { GC_NONFINITE_PROPAGATE = 0, GC_NONFINITE_ERROR = 1, GC_NONFINITE_SKIP = 2 };
enum { GC_FLAG_ASYNC = 1 };

/** "cuda" or "emulated". */
GC_API const char* gc_backend_name(void);

/** Message of this thread's last failing call ("" if none). Not cleared by successful calls. */
GC_API const char* gc_last_error(void);

/**
 * GC_OK if the backend is usable. CUDA: otherwise GC_ERR_UNAVAILABLE with *cuda_error = the cudaError_t
 * of cudaGetDeviceCount (35 = insufficient driver, 100 = no device) and a message naming it.
 * Emulated: always GC_OK, *device_count = 1, *cuda_error = 0. Both pointers may be NULL.
 */
GC_API int gc_probe(int32_t* device_count, int32_t* cuda_error);

/** Device memory (emulated: host heap, 256-byte aligned). bytes == 0 gives address 0. */
GC_API int gc_device_alloc(int64_t bytes, int64_t* out_address);
/** Frees memory from gc_device_alloc; address 0 is a no-op. */
GC_API int gc_device_free(int64_t address);
/** kind: 0 host->device, 1 device->host, 2 device->device; ordered on `stream`, synchronous w.r.t. the host. */
GC_API int gc_memcpy(int64_t dst, int64_t src, int64_t bytes, int32_t kind, int64_t stream);

/** Workspace (device slots, tensor/chunk tables, pinned result buffer) reused across calls, grown on demand. */
typedef struct gc_engine gc_engine;
GC_API int gc_engine_create(gc_engine** out);
/** Waits for a pending asynchronous run, then frees everything. NULL is a no-op. */
GC_API void gc_engine_destroy(gc_engine* e);

/**
 * One operation on a table of n tensors, in place. addresses/counts/dtypes: host arrays of length n
 * (device addresses for cuda, host addresses for emulated). a, b: CLIP_VALUE lo, hi; CLIP_NORM and
 * CLIP_GLOBAL_NORM: a = max_norm (>= 0), b unused; NORMS, RENORMALIZE: a, b unused.
 * norm_p (norm ops only): 1, 2, INFINITY or any real p > 0. stream: cudaStream_t as int64 (0 = default).
 *
 * Outputs (host; any of them may be NULL, then it is not written):
 *   tensor_norms[n], tensor_scales[n] (the fp64 scale computed for each tensor, whether or not applied;
 *     CLIP_VALUE: 0 / 1; NORMS: norms / 1),
 *   summary[2] = {total_norm, scale}: scale = the global scale for CLIP_GLOBAL_NORM; for CLIP_NORM and
 *     RENORMALIZE the minimum of the tensor scales (NaN if any is NaN), 1.0 if n == 0; 1.0 for
 *     CLIP_VALUE and NORMS; total_norm = 0 for CLIP_VALUE,
 *   result_counts[3] = {clipped_elements, nonfinite_elements, skipped (0/1)}: clipped = elements of
 *     tensors whose applied scale != 1 (CLIP_VALUE: elements with x < lo || x > hi), 0 when nothing
 *     was written (NORMS, ERROR, SKIP); nonfinite = NaN/+-inf input elements.
 *
 * Non-finite trigger: CLIP_VALUE any non-finite element; CLIP_NORM, RENORMALIZE any non-finite tensor
 * norm; CLIP_GLOBAL_NORM, NORMS a non-finite total norm. With GC_NONFINITE_ERROR the data are not
 * written and GC_ERR_NONFINITE is returned (outputs are still filled); GC_NONFINITE_SKIP: data not
 * written, skipped = 1, GC_OK.
 * flags & GC_FLAG_ASYNC: the call returns GC_OK after queuing the work (emulated: after doing it) and
 * writes no output; gc_engine_result() waits and copies the outputs (and returns GC_ERR_NONFINITE for
 * ERROR). Argument and CUDA errors are still returned by gc_run itself. A further gc_run on the same
 * engine first waits for a pending asynchronous run (its result is then replaced).
 */
GC_API int gc_run(gc_engine* e, int32_t op, const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n,
                  double a, double b, double norm_p, int32_t semantics, int32_t nonfinite, int64_t stream, int32_t flags,
                  double* tensor_norms, double* tensor_scales, double* summary, int64_t* result_counts);

/**
 * Waits for the engine's last gc_run and copies its outputs (any pointer may be NULL). Returns that
 * run's status (GC_OK or GC_ERR_NONFINITE); GC_ERR_INVALID_ARGUMENT if the engine has no result.
 */
GC_API int gc_engine_result(gc_engine* e, double* tensor_norms, double* tensor_scales, double* summary, int64_t* result_counts);

#ifdef __cplusplus
}
#endif

#endif /* GRADCLIP_H */
