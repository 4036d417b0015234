// cpu_internal.h - the interface between the ISA-neutral entry points (cpu_api.cpp) and the kernel
// tables, one per instruction-set path (cpu_scalar.cpp, cpu_avx2.cpp, cpu_avx512.cpp). Not installed.
#pragma once
#include <stdint.h>
#include "gradclip_cpu.h"

namespace gccpu {

// The passes prefetch the line this many bytes ahead of the one they work on (cpu_kernels.inc).
#define GCCPU_STREAM_AHEAD_BYTES 8192

// One chunk (len <= 65,536 elements from element `start` of `data`) per call. `ahead`: how many bytes
// past the chunk's end the pass may prefetch, GCCPU_STREAM_AHEAD_BYTES when what follows the chunk in
// memory is read next (the tensor's next chunk, or a next tensor that follows it), else 0. A prefetch
// changes no result: `ahead` only decides where memory is read early.
struct KernelTable {
  int isa;
  // canonical fold of term(x) over the chunk (kind: GCCPU_NORM_L1/L2/INF)
  double (*chunk_sum)(const void* data, int32_t dtype, int64_t start, int32_t len, int32_t kind, int32_t ahead);
  int64_t (*count_nonfinite)(const void* data, int32_t dtype, int64_t start, int32_t len);
  // clamp in place (every element stored); *clipped/*nonfinite incremented; returns 1 when len > 0
  int (*clamp)(void* data, int32_t dtype, int64_t start, int32_t len, const gccpu_bounds* b, int64_t* clipped,
               int64_t* nonfinite, int32_t ahead);
  // multiply in place (the tensor's applied scale is not 1)
  void (*scale)(void* data, int32_t dtype, int64_t start, int32_t len, double s, int32_t ahead);
};

extern const KernelTable kScalarTable;
#if defined(__x86_64__)
extern const KernelTable kAvx2Table;
extern const KernelTable kAvx512Table;
#endif

}  // namespace gccpu
