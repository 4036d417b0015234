// cuda_emu.h - a small CUDA emulation layer so that the .cu kernels compile with g++ and run on the CPU.
//
// Supported (and nothing else): __global__/__device__/__host__/__forceinline__, static __shared__
// (block-local static storage), threadIdx/blockIdx/blockDim/gridDim, __syncthreads() (block barrier, not
// in divergent code), __shfl_down_sync with the full mask (all live lanes of the warp must take part),
// integer atomicAdd, launches through GC_LAUNCH. Blocks run one after another on the thread that runs
// the launch; the threads of a block run as fibers (cooperative, switched only at barriers and shuffles),
// so kernels see sequentially consistent memory. The CUDA runtime calls used by gradclip.cpp are
// provided on top of the host heap, with streams, events and queued work (emu/runtime.cpp, below).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <tuple>
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

// ---- the subset of the CUDA runtime API used by gradclip.cpp (emu/runtime.cpp) -------------------
// Streams are modelled, not flattened: every stream keeps a queue of work that runs in stream order.
//   - cudaMemcpyAsync between pinned host memory (cudaMallocHost) or device memory queues the copy on its
//     stream (stream 0 included); it runs when the stream is flushed: by a launch on stream 0,
//     cudaStreamSynchronize, cudaEventSynchronize of a later event, a cudaStreamWaitEvent that needs it,
//     or cudaFree (which synchronises the device). A copy with a pageable host side runs the stream's
//     queue and then the copy before returning, as CUDA's does;
//   - a kernel launch on the default stream (0) runs its stream's queue, then the kernel, before returning;
//     on a created stream (gc_emu_stream_create: non-blocking, like a framework's streams) it is queued;
//   - stream 0 does not wait for created streams (they are non-blocking), so work a caller queued there
//     is NOT ordered before ours unless an event says so (cudaStreamWaitEvent): exactly the GPU's rule;
//   - events record a position in their stream; waiting on one runs that stream up to it.
// A queued copy from pinned host memory remembers a hash of its source; if the host changes the source
// before the copy runs (a staging buffer rewritten under a queued copy: a race on a GPU) the runtime counts a hazard
// (gc_emu_hazards() in gradclip_emu.h). Failures can be injected per call site (gc_emu_inject_failure);
// an injected sticky error (700, 719, ...) loses the emulated context: every later call fails with it and
// the queued work is dropped, until gc_emu_reset().
typedef int cudaError_t;
enum : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorUnknown = 999,
};
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4 };
typedef struct gc_emu_stream* cudaStream_t;
typedef struct gc_emu_event* cudaEvent_t;
#define cudaEventDisableTiming 0x02
#define cudaStreamNonBlocking 0x01

namespace gc_emu {
// The runtime's call sites where a failure can be injected (gc_emu_inject_failure; gradclip_emu.h has the
// same values as GC_EMU_SITE_*).
enum Site : int { kSiteLaunch = 0, kSiteMemcpy = 1, kSiteStreamSync = 2, kSiteEventSync = 3, kSiteMalloc = 4, kSiteCount = 5 };
// A queued unit of work (a copy or a kernel launch).
typedef void (*WorkFn)(void*);
struct Work {
  WorkFn run;
  void* arg;                 // owned: deleted by `drop`
  void (*drop)(void*);
};
// Queues a kernel launch on `s` (0: runs the default stream's queue, then the kernel, now). Returns false
// (and sets the error cudaGetLastError reports) when an injected launch failure fires or the context is lost.
bool submit_launch(cudaStream_t s, Work w);
// Control of the runtime (tests, through gradclip_emu.h): see runtime.cpp.
void inject_failure(int site, int error, int skip, bool lose_context);
void reset();                  // no injected failure, the context usable again, the counters zero
int64_t hazards();             // queued copies whose source changed before they ran
int64_t stream_waits();        // cudaStreamWaitEvent calls
int64_t queued(cudaStream_t s);  // work queued on `s` and not run yet (-1: not a stream)
// The kernel and its arguments are taken by value at the launch (CUDA copies kernel parameters then).
template <class K, class... A>
inline void launch_on(cudaStream_t s, dim3 grid, dim3 block, K kernel, A... args) {
  struct Launch {
    dim3 g, b;
    K k;
    std::tuple<A...> a;
  };
  Work w{[](void* p) {
           Launch* l = static_cast<Launch*>(p);
           launch_kernel(l->g, l->b, [l]() { std::apply(l->k, l->a); });
         },
         new Launch{grid, block, kernel, std::tuple<A...>(args...)}, [](void* p) { delete static_cast<Launch*>(p); }};
  submit_launch(s, w);
}
}  // namespace gc_emu

// One launch macro for both backends: the arguments are evaluated and copied at the launch, as CUDA copies
// kernel parameters at the launch.
#define GC_LAUNCH(kernel, grid, block, stream, ...) gc_emu::launch_on((stream), dim3(grid), dim3(block), kernel, __VA_ARGS__)

const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaGetLastError();
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMallocHost(void** p, size_t bytes);
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind k, cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags);

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
// A stream that gc_emu_stream_create did not make (and that is not 0) is an invalid handle.
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus* status);
cudaError_t cudaStreamGetDevice(cudaStream_t s, int* d);
inline cudaError_t cudaDriverGetVersion(int* v) { *v = 13000; return cudaSuccess; }
