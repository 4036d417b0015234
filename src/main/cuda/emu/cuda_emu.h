// cuda_emu.h - a small CUDA emulation layer so that the .cu kernels compile with g++ and run on the CPU.
//
// Supported (and nothing else): __global__/__device__/__host__/__forceinline__, static __shared__
// (block-local static storage), threadIdx/blockIdx/blockDim/gridDim, __syncthreads() (block barrier, not
// in divergent code), __shfl_down_sync with the full mask (all live lanes of the warp must take part),
// integer atomicAdd, launches through GC_LAUNCH. Blocks run one after another on the calling thread;
// the threads of a block run as fibers (cooperative, switched only at barriers and shuffles), so a
// launch is synchronous and kernels see sequentially consistent memory. The CUDA runtime calls used
// by gradclip.cpp are provided on top of the host heap.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static thread_local  // kernels use GC_SHARED (gc_numeric.cuh), which also poisons

struct uint3 { unsigned x, y, z; };
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace gc_emu {
struct ThreadCtx {
  uint3 tid;
  int linear, warp, lane;
  unsigned shfl_seq;
};
struct BlockCtx {
  uint3 bid;
  dim3 bdim, gdim;
};
// Default (global-dynamic) TLS on purpose: an initial-exec variable would put the library's whole TLS
// block into the static TLS surplus, and a JVM dlopen()s this library late.
#define GC_EMU_TLS
extern GC_EMU_TLS thread_local ThreadCtx* tl_thread;
extern GC_EMU_TLS thread_local BlockCtx tl_block;

void syncthreads();
uint64_t shfl_down_bits(unsigned mask, uint64_t bits, unsigned delta);
// GC_SHARED: poisons [p, p + bytes) (0xff bytes) the first time the running block touches it.
void shared_touch(void* p, size_t bytes);
// The grid cap the launch plans use: `cap` unless the schedule says "full" (the uncapped GPU grid).
unsigned grid_cap(unsigned cap);

// Schedule of the emulated GPU. Defaults from the environment when a thread first launches:
//   GC_EMU_SEED=N (N != 0): resume the threads of a block in a seeded random order, drawn anew for every
//     barrier interval, and run the blocks of a grid in a seeded random order (0 or unset: blocks in
//     order, threads in descending order, the historical schedule);
//   GC_EMU_GRID=full: launch plans use the uncapped GPU grid instead of at most 8 blocks.
struct Schedule {
  uint64_t seed = 0;        // 0: deterministic descending thread order, blocks in order
  bool shuffle_blocks = true;  // with seed != 0
  bool full_grid = false;
};
Schedule schedule();               // this OS thread's schedule
void set_schedule(const Schedule& s);  // for tests; applies to later launches on this OS thread
void launch(dim3 grid, dim3 block, void (*body)(void*), void* arg);
[[noreturn]] void fatal(const char* what);

template <class F>
inline void launch_kernel(dim3 grid, dim3 block, F&& f) {
  using Fn = typename std::remove_reference<F>::type;
  launch(grid, block, [](void* p) { (*static_cast<Fn*>(p))(); }, static_cast<void*>(&f));
}
}  // namespace gc_emu

#define threadIdx (gc_emu::tl_thread->tid)
#define blockIdx (gc_emu::tl_block.bid)
#define blockDim (gc_emu::tl_block.bdim)
#define gridDim (gc_emu::tl_block.gdim)
#define __syncthreads() gc_emu::syncthreads()

template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a value of at most 8 bytes");
  if (width != 32) gc_emu::fatal("__shfl_down_sync: only width 32 is emulated");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = gc_emu::shfl_down_bits(mask, bits, delta);
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

// Fibers of one OS thread never run at the same time and are switched only at barriers, so integer
// atomics are plain read-modify-writes.
inline int atomicAdd(int* p, int v) { int o = *p; *p = o + v; return o; }
inline unsigned atomicAdd(unsigned* p, unsigned v) { unsigned o = *p; *p = o + v; return o; }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { unsigned long long o = *p; *p = o + v; return o; }

// One launch macro for both backends. Emulated launches run to completion before returning.
#define GC_LAUNCH(kernel, grid, block, stream, ...) \
  ((void)(stream), gc_emu::launch_kernel(dim3(grid), dim3(block), [&]() { kernel(__VA_ARGS__); }))

// ---- the subset of the CUDA runtime API used by gradclip.cpp -------------------------------------
typedef int cudaError_t;
enum : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
};
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };
typedef struct gc_emu_stream* cudaStream_t;
typedef struct gc_emu_event* cudaEvent_t;
#define cudaEventDisableTiming 0x02

inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    default: return "cudaErrorUnknown";
  }
}
inline const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaErrorMemoryAllocation ? "out of memory (emulated host heap)" : e == cudaSuccess ? "no error" : "emulated runtime error";
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  if (bytes == 0) { *p = nullptr; return cudaSuccess; }
  size_t rounded = (bytes + 255) / 256 * 256;
  if (rounded < bytes) return cudaErrorMemoryAllocation;
  *p = std::aligned_alloc(256, rounded);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMallocHost(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
inline cudaError_t cudaFreeHost(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) {
  if (n) std::memmove(d, s, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind k) { return cudaMemcpyAsync(d, s, n, k, nullptr); }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { *e = nullptr; return cudaSuccess; }
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }

// Devices, pointers, streams, the driver (device_guard.cpp). The emulated GPU is device 0; every
// address is its memory (the emulated backend takes host addresses), streams are never capturing.
enum cudaMemoryType { cudaMemoryTypeUnregistered = 0, cudaMemoryTypeHost = 1, cudaMemoryTypeDevice = 2, cudaMemoryTypeManaged = 3 };
struct cudaPointerAttributes {
  cudaMemoryType type;
  int device;
  void* devicePointer;
  void* hostPointer;
};
enum cudaStreamCaptureStatus { cudaStreamCaptureStatusNone = 0, cudaStreamCaptureStatusActive = 1, cudaStreamCaptureStatusInvalidated = 2 };
inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
inline cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
  a->type = cudaMemoryTypeDevice;
  a->device = 0;
  a->devicePointer = const_cast<void*>(p);
  a->hostPointer = const_cast<void*>(p);
  return cudaSuccess;
}
inline cudaError_t cudaStreamIsCapturing(cudaStream_t, cudaStreamCaptureStatus* s) { *s = cudaStreamCaptureStatusNone; return cudaSuccess; }
inline cudaError_t cudaStreamGetDevice(cudaStream_t, int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaDriverGetVersion(int* v) { *v = 13000; return cudaSuccess; }
