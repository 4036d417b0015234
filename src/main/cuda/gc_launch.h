// gc_launch.h - host-side interface between the C API (src/main/cpp/gradclip.cpp) and the kernels
// (gradclip_kernels.cu): tables, workspace layout, parameters, result block, launch plans.
// Plain C++: compiled by g++ for both backends and by nvcc.
#pragma once
#include <stddef.h>
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
constexpr int kDtypes = 4;             // fp32, fp64, fp16, bf16 (the values of GC_FLOAT32..GC_BFLOAT16)

enum PKind : int32_t { PK_1 = 0, PK_2 = 1, PK_INF = 2, PK_GEN = 3 };

// Tensor table entry (device). chunk0 = canonical index of the tensor's first chunk (chunks of tensor t
// have the slots chunk0 .. chunk0 + ceil(count / kChunk) - 1, in tensor order).
struct GcTensor {
  int64_t addr;
  int64_t count;
  int64_t chunk0;
  int32_t dtype;
  int32_t pad;
};
// Chunk table entry (device): elements [start, min(start + kChunk, count)) of tensor `tensor`. The table
// is grouped by dtype (one kernel per dtype walks its range); the slot of a chunk is always canonical:
// tensors[tensor].chunk0 + start / kChunk.
struct GcChunk {
  int64_t tensor;
  int64_t start;
};

struct GcParams {
  int64_t n;        // tensors
  int64_t nchunks;  // chunks
  int64_t dt_begin[kDtypes + 1];  // the chunks of dtype d are [dt_begin[d], dt_begin[d + 1]) in the chunk table
  int32_t op, pkind, semantics, policy;
  double p;         // norm order (PK_GEN)
  double max_norm;  // CLIP_NORM / CLIP_GLOBAL_NORM threshold
  // CLIP_VALUE bounds, already rounded to each storage type (RNE)
  double lo64, hi64;
  float lo32, hi32;
  uint16_t lo16, hi16, lobf, hibf;
};

// Result block (device, copied to pinned host memory in one transfer):
//   [0] double summary[2]; [16] int64 counts[3]; [40] int64 status; [48] double norms[n];
//   then double scales[n]; then double maxabs[n] (general p: max|x| per tensor; else 0)
enum : int64_t { kResSummary = 0, kResCounts = 16, kResStatus = 40, kResNorms = 48 };
inline int64_t result_bytes(int64_t n) { return kResNorms + 24 * n; }
enum : int64_t { kStatusOk = 0, kStatusSkip = 1, kStatusError = 2 };

// Per-block partial results of the parallel per-tensor finalize.
struct GcFinBlock {
  int64_t clipped, trig, min_idx;
  double min_scale;
};
__host__ __device__ inline int64_t fin_blocks(int64_t n) { return (n + kThreads - 1) / kThreads; }

struct GcDev {
  const GcTensor* tensors;
  const GcChunk* chunks;
  double* partial;        // [nchunks] chunk partial sums (fp64, one fixed slot per chunk)
  int64_t* chunk_nonfin;  // [nchunks] non-finite inputs per chunk
  int64_t* chunk_clipped; // [nchunks] clipped elements per chunk (CLIP_VALUE)
  double* tsum;           // [n] per-tensor sums S[t]
  int64_t* tnonfin;       // [n]
  double* tmax;           // [n] per-tensor max|x| (general p)
  GcFinBlock* fin;        // [fin_blocks(n)]
  double* scalars;        // [2]: total norm, global scale
  char* result;           // result block
};

// Workspace sizes and binding (the C API allocates, the kernels use).
struct GcSizes {
  size_t tables, slots, result;
};
inline GcSizes workspace_sizes(int64_t n, int64_t nchunks) {
  const size_t un = static_cast<size_t>(n), uc = static_cast<size_t>(nchunks);
  return GcSizes{un * sizeof(GcTensor) + uc * sizeof(GcChunk),
                 uc * 24 + un * 24 + static_cast<size_t>(fin_blocks(n)) * sizeof(GcFinBlock) + 16,
                 static_cast<size_t>(result_bytes(n))};
}
inline GcDev bind_workspace(char* tables, char* slots, char* result, int64_t n, int64_t nchunks) {
  const size_t un = static_cast<size_t>(n), uc = static_cast<size_t>(nchunks);
  GcDev D{};
  D.tensors = reinterpret_cast<const GcTensor*>(tables);
  D.chunks = reinterpret_cast<const GcChunk*>(tables + un * sizeof(GcTensor));
  D.partial = reinterpret_cast<double*>(slots);
  D.chunk_nonfin = reinterpret_cast<int64_t*>(slots + uc * 8);
  D.chunk_clipped = reinterpret_cast<int64_t*>(slots + uc * 16);
  D.tsum = reinterpret_cast<double*>(slots + uc * 24);
  D.tnonfin = reinterpret_cast<int64_t*>(slots + uc * 24 + un * 8);
  D.tmax = reinterpret_cast<double*>(slots + uc * 24 + un * 16);
  D.fin = reinterpret_cast<GcFinBlock*>(slots + uc * 24 + un * 24);
  D.scalars = reinterpret_cast<double*>(slots + uc * 24 + un * 24 + static_cast<size_t>(fin_blocks(n)) * sizeof(GcFinBlock));
  D.result = result;
  return D;
}
// Fills the host staging copy of the tables (size workspace_sizes().tables) and P.dt_begin.
inline void fill_tables(const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n, char* staging,
                        GcParams& P) {
  GcTensor* ht = reinterpret_cast<GcTensor*>(staging);
  GcChunk* hc = reinterpret_cast<GcChunk*>(staging + static_cast<size_t>(n) * sizeof(GcTensor));
  int64_t per[kDtypes] = {0, 0, 0, 0};
  int64_t c = 0;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t m = (counts[t] + kChunk - 1) / kChunk;
    ht[t] = GcTensor{addresses[t], counts[t], c, dtypes[t], 0};
    per[dtypes[t]] += m;
    c += m;
  }
  P.dt_begin[0] = 0;
  for (int d = 0; d < kDtypes; ++d) P.dt_begin[d + 1] = P.dt_begin[d] + per[d];
  int64_t next[kDtypes];
  for (int d = 0; d < kDtypes; ++d) next[d] = P.dt_begin[d];
  for (int64_t t = 0; t < n; ++t)
    for (int64_t s = 0; s < counts[t]; s += kChunk) hc[next[dtypes[t]]++] = GcChunk{t, s};
}

// Launch plans (gradclip_kernels.cu). Every function queues kernels on `s` and returns
// cudaGetLastError(); `grid_cap` bounds the grid of the chunk kernels (grid-stride loops do the rest).
//   launch_norms: NORMS, CLIP_NORM, CLIP_GLOBAL_NORM, RENORMALIZE (P.op): chunk partials in D.partial,
//     tensor sums in D.tsum, max|x| in D.tmax (general p), the result block, then the scale pass.
//   launch_clip_value: CLIP_VALUE (counts, policy, clamp).
//   launch_scale: applies the per-tensor scales already in the result block's scales[n] (status must
//     be kStatusOk), with the canonical apply and the NaN rule; P.op must not be CLIP_GLOBAL_NORM.
cudaError_t launch_norms(const GcParams& P, const GcDev& D, unsigned grid_cap, cudaStream_t s);
cudaError_t launch_clip_value(const GcParams& P, const GcDev& D, unsigned grid_cap, cudaStream_t s);
cudaError_t launch_scale(const GcParams& P, const GcDev& D, unsigned grid_cap, cudaStream_t s);

}  // namespace gc
