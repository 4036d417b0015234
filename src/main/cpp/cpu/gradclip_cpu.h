/*
 * gradclip_cpu.h - the C API of libgradclip-cpu: the CPU backend's chunk kernels in native SIMD code.
 *
 * Every pass works on a RANGE of chunks of a tensor table (docs/canonical-reduction.md: a tensor of n
 * elements is split into chunks of 65,536 elements from its element 0; chunks never span tensors):
 * the range starts at chunk `first_chunk` of tensors[0] and covers `nchunks` chunks, continuing through
 * tensors[1], tensors[2], ... (tensors without elements have no chunks and are stepped over). The
 * threads, the chunk plan and the policies stay on the Java side (dev.gradclip.backend.cpu); one call
 * processes a whole range, not one tensor.
 *
 * Results are bit for bit those of the canonical order: fp64 lanes, 1,024 lanes per chunk, the fixed
 * fold tree; no FMA contraction (-ffp-contract=off; the explicit fused a + d*d of the SIMD L2 kernels
 * is used only where d*d is exact, which gives the same bits, see README.md). The instruction set is chosen once at run time
 * (AVX-512, AVX2 + FMA + F16C, or portable C++), overridable by GRADCLIP_CPU_ISA=scalar|avx2|avx512 in the
 * environment or gccpu_set_isa(); every path gives the same bits.
 *
 * Every entry point checks its arguments (null pointers, negative sizes, unknown dtypes, a range past the
 * table's last chunk) and returns GCCPU_ERR_INVALID_ARGUMENT without touching memory when they are bad.
 *
 * The tensors of one call must not overlap in memory (not checked: dev.gradclip.GradientSet refuses
 * overlapping views). A call may visit its chunks in any order (by address, for prefetching); every
 * result is per chunk (partials[c]) or per element, so the order changes no bit.
 */
#ifndef GRADCLIP_CPU_H
#define GRADCLIP_CPU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define GCCPU_API __declspec(dllexport)
#else
#define GCCPU_API __attribute__((visibility("default")))
#endif

/* status codes */
#define GCCPU_OK 0
#define GCCPU_ERR_INVALID_ARGUMENT 1
#define GCCPU_ERR_UNSUPPORTED 2

/* storage types: the same codes as gradclip.h's tensor dtypes */
#define GCCPU_F32 0
#define GCCPU_F64 1
#define GCCPU_F16 2
#define GCCPU_BF16 3

/* norm kinds of gccpu_norms */
#define GCCPU_NORM_L1 1
#define GCCPU_NORM_L2 2
#define GCCPU_NORM_INF 3

/* instruction-set paths */
#define GCCPU_ISA_SCALAR 0
#define GCCPU_ISA_AVX2 1
#define GCCPU_ISA_AVX512 2

#define GCCPU_CHUNK 65536
#define GCCPU_LANES 1024

typedef struct gccpu_tensor {
  void* data;      /* element 0 of the tensor (host memory, any alignment of its element type) */
  int64_t count;   /* elements, >= 0 */
  int32_t dtype;   /* GCCPU_F32 .. GCCPU_BF16 */
  int32_t reserved;
} gccpu_tensor;

/* Clip-by-value bounds, already rounded to each storage type (fp16/bf16 as bit patterns), lo <= hi. */
typedef struct gccpu_bounds {
  double lo64, hi64;
  float lo32, hi32;
  uint16_t lo16, hi16;   /* fp16 bits */
  uint16_t lobf, hibf;   /* bf16 bits */
} gccpu_bounds;

/* Canonical chunk partials: partials[c] = fold of term(x) over chunk c of the range (p = 1: |x|, 2: x*x,
 * inf: |x| with NaN-propagating max). *nonfinite += NaN/inf elements of the range. Writes nothing else. */
GCCPU_API int gccpu_norms(const gccpu_tensor* tensors, int64_t ntensors, int64_t first_chunk, int64_t nchunks,
                          int32_t kind, double* partials, int64_t* nonfinite);

/* *nonfinite += NaN/inf elements of the range. */
GCCPU_API int gccpu_count_nonfinite(const gccpu_tensor* tensors, int64_t ntensors, int64_t first_chunk,
                                    int64_t nchunks, int64_t* nonfinite);

/* torch.clamp in place: t = x < lo ? lo : x; y = hi < t ? hi : t (NaN stays as it is, bit for bit). Only
 * clipped elements change value, but every element is stored (one branch-free pass, as torch.clamp_).
 * counts[0] += clipped (x < lo || x > hi), counts[1] += non-finite, counts[2] += chunks written. */
GCCPU_API int gccpu_clamp(const gccpu_tensor* tensors, int64_t ntensors, int64_t first_chunk, int64_t nchunks,
                          const gccpu_bounds* bounds, int64_t* counts);

/* g <- g * s_t with scales[t] per tensor of the table (fp64): fp32/fp16/bf16 multiply by (float)s in fp32
 * (by s in fp64, rounded once, when (float)s is 0, subnormal or infinite), fp64 by s; RNE to storage.
 * NaN rule: a NaN element keeps its bits, quieted; a NaN product from a non-NaN element (NaN scale,
 * inf * 0) is the positive canonical quiet NaN. Chunks of tensors whose applied scale is exactly 1 are
 * not touched. *written += elements written. */
GCCPU_API int gccpu_scale(const gccpu_tensor* tensors, int64_t ntensors, int64_t first_chunk, int64_t nchunks,
                          const double* scales, int64_t* written);

/* The active instruction-set path, and whether a path can run on this CPU. */
GCCPU_API int gccpu_isa(void);
GCCPU_API int gccpu_isa_supported(int32_t isa);
/* Forces a path (GCCPU_ERR_UNSUPPORTED when this CPU lacks it; the active path is unchanged then). */
GCCPU_API int gccpu_set_isa(int32_t isa);
GCCPU_API const char* gccpu_isa_name(int32_t isa);

#ifdef __cplusplus
}
#endif

#endif /* GRADCLIP_CPU_H */
