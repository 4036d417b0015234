// gc_launch.h - host-side interface between the C API (src/main/cpp/gradclip.cpp) and the kernels
// (gradclip_kernels.cu). Plain C++: compiled by g++ for both backends and by nvcc.
#pragma once
#include <stdint.h>

#ifdef GC_EMULATED
#include "emu/cuda_emu.h"
#else
#include <cuda_runtime.h>
// One launch macro for both backends (the emulated one is in emu/cuda_emu.h).
#define GC_LAUNCH(kernel, grid, block, stream, ...) kernel<<<(grid), (block), 0, (stream)>>>(__VA_ARGS__)
#endif

namespace gc {

constexpr int kThreads = 256;          // threads per block, always
constexpr int kLanes = 1024;           // canonical lanes; thread t owns lanes 4t..4t+3
constexpr int64_t kChunk = 65536;      // elements per chunk (chunks never span tensors)

enum PKind : int32_t { PK_1 = 0, PK_2 = 1, PK_INF = 2, PK_GEN = 3 };

// Tensor table entry (device). chunk0 = index of the tensor's first chunk in the chunk table.
struct GcTensor {
  int64_t addr;
  int64_t count;
  int64_t chunk0;
  int32_t dtype;
  int32_t pad;
};
// Chunk table entry (device): elements [start, min(start + kChunk, count)) of tensor `tensor`.
struct GcChunk {
  int64_t tensor;
  int64_t start;
};

struct GcParams {
  int64_t n;        // tensors
  int64_t nchunks;  // chunks
  int32_t op, pkind, semantics, policy;
  double p;         // norm order (PK_GEN)
  double max_norm;  // CLIP_NORM / CLIP_GLOBAL_NORM threshold
  // CLIP_VALUE bounds, already rounded to each storage type (RNE)
  double lo64, hi64;
  float lo32, hi32;
  uint16_t lo16, hi16, lobf, hibf;
};

// Result block (device, copied to pinned host memory in one transfer):
//   [0] double summary[2]; [16] int64 counts[3]; [40] int64 status; [48] double norms[n]; then scales[n]
enum : int64_t { kResSummary = 0, kResCounts = 16, kResStatus = 40, kResNorms = 48 };
inline int64_t result_bytes(int64_t n) { return kResNorms + 16 * n; }
enum : int64_t { kStatusOk = 0, kStatusSkip = 1, kStatusError = 2 };

struct GcDev {
  const GcTensor* tensors;
  const GcChunk* chunks;
  double* partial;        // [nchunks] chunk partial sums (fp64, one fixed slot per chunk)
  int64_t* chunk_nonfin;  // [nchunks] non-finite inputs per chunk
  int64_t* chunk_clipped; // [nchunks] clipped elements per chunk (CLIP_VALUE)
  double* tsum;           // [n] per-tensor sums S[t]
  int64_t* tnonfin;       // [n]
  char* result;           // result block
  const double* tdiv;     // [n] or null: general p divides |x| by tdiv[t] (max|x|) before pow; 0/NaN/inf skips the tensor
};

// Launch plans (gradclip_kernels.cu). Every function queues kernels on `s` and returns
// cudaGetLastError(); `grid_cap` bounds the grid of the chunk kernels (grid-stride loops do the rest).
cudaError_t launch_norms(const GcParams& P, const GcDev& D, unsigned grid_cap, cudaStream_t s);
cudaError_t launch_clip_value(const GcParams& P, const GcDev& D, unsigned grid_cap, cudaStream_t s);
// Only the scale kernel, with the per-tensor scales already in the result block (status ok, op != 3).
cudaError_t launch_scale(const GcParams& P, const GcDev& D, unsigned grid_cap, cudaStream_t s);

}  // namespace gc
