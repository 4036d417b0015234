// runtime.cpp - the emulated CUDA runtime behind cuda_emu.h: streams with queues, events, copies,
// memory, injected failures and the lost-context state. Kernels run on the fiber scheduler (emu.cpp).
//
// The model (cuda_emu.h says it in short):
//   - every stream (0 included) keeps a FIFO of queued work; the default stream is one more queue;
//   - cudaMemcpyAsync follows the CUDA rules for pageable memory: a copy whose host side is pageable (not
//     from cudaMallocHost) runs the stream's queue and then the copy before returning (CUDA: D2H to pageable
//     memory returns when done, H2D from pageable memory has consumed the source when it returns); a copy
//     between pinned host memory and device memory, or device to device, is queued;
//   - a launch on stream 0 runs stream 0's queue, then the kernel; on a created stream it is queued;
//   - cudaStreamSynchronize runs the stream's queue; an event records (stream, position) and waiting on it
//     (cudaEventSynchronize, cudaStreamWaitEvent) runs its stream up to that position; cudaFree and
//     cudaFreeHost synchronise the device (every queue), as CUDA's do;
//   - created streams are non-blocking: nothing orders stream 0 after them, or them after stream 0.
// Hazards: a queued copy from pinned host memory keeps a hash of its source (up to 64 MiB); if the host
// changed the source before the copy ran, the runtime counts a hazard (and says so on stderr): on a GPU that copy would have read the new
// bytes, a race.
// Faults: inject_failure(site, error, skip, lose) makes the (skip + 1)-th call at `site` fail with `error`,
// once; with `lose` the emulated context is lost from then on (the queues are dropped, every call fails with
// that error) until reset(). The fault state is process-wide, like a CUDA context.
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "cuda_emu.h"

struct gc_emu_stream {
  struct Item {
    gc_emu::Work work;
    uint64_t seq;
  };
  std::deque<Item> queue;
  uint64_t enqueued = 0;  // positions handed out so far
};

struct gc_emu_event {
  gc_emu_stream* stream = nullptr;  // null: never recorded (waiting on it returns at once)
  uint64_t position = 0;            // the work before this position must have run
};

namespace gc_emu {

namespace {

constexpr size_t kHashLimit = size_t{64} << 20;

struct Runtime {
  std::mutex mu;
  gc_emu_stream default_stream;
  std::set<gc_emu_stream*> streams;
  std::set<gc_emu_event*> events;
  std::map<uintptr_t, size_t> pinned;  // cudaMallocHost blocks: start -> bytes
  // faults
  bool armed[kSiteCount] = {};
  int error[kSiteCount] = {};
  int skip[kSiteCount] = {};
  bool lose[kSiteCount] = {};
  int lost = 0;  // the sticky error of a lost context, or 0
  // observations
  int64_t hazards = 0;
  int64_t waits = 0;
};

Runtime& rt() {
  static Runtime* r = new Runtime();  // never destroyed: JVM threads may call in during exit
  return *r;
}

thread_local int tl_last_error = 0;

uint64_t hash_bytes(const void* p, size_t n) {
  const unsigned char* b = static_cast<const unsigned char*>(p);
  uint64_t h = 0xcbf29ce484222325ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, b + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

// Resolves a handle under the lock: 0 is the default stream; an unknown handle is null.
gc_emu_stream* stream_of(Runtime& r, cudaStream_t s) {
  if (s == nullptr) return &r.default_stream;
  return r.streams.count(s) ? s : nullptr;
}

bool is_pinned(Runtime& r, const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = r.pinned.upper_bound(a);
  if (it == r.pinned.begin()) return false;
  --it;
  return a < it->first + it->second;
}

void run_item(gc_emu_stream::Item& it) {
  it.work.run(it.work.arg);
  it.work.drop(it.work.arg);
}

// Runs the queued work of `s` before `position` (all of it for UINT64_MAX), in order, under the lock.
void flush(gc_emu_stream* s, uint64_t position) {
  while (!s->queue.empty() && s->queue.front().seq < position) {
    gc_emu_stream::Item it = s->queue.front();
    s->queue.pop_front();
    run_item(it);
  }
}

void flush_all(Runtime& r) {
  flush(&r.default_stream, UINT64_MAX);
  for (gc_emu_stream* s : r.streams) flush(s, UINT64_MAX);
}

void drop_all(Runtime& r) {
  auto drop = [](gc_emu_stream* s) {
    for (auto& it : s->queue) it.work.drop(it.work.arg);
    s->queue.clear();
  };
  drop(&r.default_stream);
  for (gc_emu_stream* s : r.streams) drop(s);
}

// The error of an injected failure at `site` (or of a lost context), 0 if none fires. Under the lock.
int fire(Runtime& r, Site site) {
  if (r.lost) return r.lost;
  if (!r.armed[site]) return 0;
  if (r.skip[site] > 0) {
    --r.skip[site];
    return 0;
  }
  r.armed[site] = false;
  const int e = r.error[site];
  if (r.lose[site]) {
    r.lost = e;
    drop_all(r);  // a lost context runs nothing more
  }
  return e;
}

void enqueue(gc_emu_stream* s, Work w) { s->queue.push_back(gc_emu_stream::Item{w, s->enqueued++}); }

struct Copy {
  void* dst;
  const void* src;
  size_t n;
  bool hashed;
  uint64_t hash;
};

void run_copy(void* p) {
  Copy* c = static_cast<Copy*>(p);
  if (c->hashed && hash_bytes(c->src, c->n) != c->hash) {
    Runtime& r = rt();  // the lock is held by the flusher
    ++r.hazards;
    std::fprintf(stderr, "gradclip emulation layer: hazard: the source %p of a queued %zu-byte copy changed before the copy ran\n",
                 c->src, c->n);
  }
  std::memmove(c->dst, c->src, c->n);
}

}  // namespace

bool submit_launch(cudaStream_t s, Work w) {
  Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  gc_emu_stream* st = stream_of(r, s);
  int e = st ? fire(r, kSiteLaunch) : static_cast<int>(cudaErrorInvalidResourceHandle);
  if (e) {
    tl_last_error = e;
    w.drop(w.arg);
    return false;
  }
  if (st == &r.default_stream) {
    flush(st, UINT64_MAX);
    w.run(w.arg);
    w.drop(w.arg);
  } else {
    enqueue(st, w);
  }
  return true;
}

void inject_failure(int site, int error, int skip, bool lose_context) {
  Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (site < 0 || site >= kSiteCount) fatal("inject_failure: unknown call site");
  r.armed[site] = error != 0;
  r.error[site] = error;
  r.skip[site] = skip < 0 ? 0 : skip;
  r.lose[site] = lose_context;
}

void reset() {
  Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  for (int i = 0; i < kSiteCount; ++i) r.armed[i] = false;
  r.lost = 0;
  r.hazards = 0;
  r.waits = 0;
  tl_last_error = 0;
}

int64_t hazards() {
  std::lock_guard<std::mutex> lock(rt().mu);
  return rt().hazards;
}

int64_t stream_waits() {
  std::lock_guard<std::mutex> lock(rt().mu);
  return rt().waits;
}

int64_t queued(cudaStream_t s) {
  Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  gc_emu_stream* st = stream_of(r, s);
  return st ? static_cast<int64_t>(st->queue.size()) : -1;
}

}  // namespace gc_emu

using gc_emu::rt;

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory (emulated host heap)";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle (not a stream or event of the emulated runtime)";
    default: return "emulated runtime error (injected)";
  }
}

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.lost) return r.lost;  // sticky: never cleared
  const int e = gc_emu::tl_last_error;
  gc_emu::tl_last_error = 0;
  return e;
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = nullptr;
  {
    gc_emu::Runtime& r = rt();
    std::lock_guard<std::mutex> lock(r.mu);
    if (int e = gc_emu::fire(r, gc_emu::kSiteMalloc)) return e;
  }
  if (bytes == 0) return cudaSuccess;
  size_t rounded = (bytes + 255) / 256 * 256;
  if (rounded < bytes) return cudaErrorMemoryAllocation;
  *p = std::aligned_alloc(256, rounded);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFree(void* p) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  gc_emu::flush_all(r);  // cudaFree synchronises the device
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** p, size_t bytes) {
  const cudaError_t e = cudaMalloc(p, bytes);
  if (e == cudaSuccess && *p) {
    gc_emu::Runtime& r = rt();
    std::lock_guard<std::mutex> lock(r.mu);
    r.pinned[reinterpret_cast<uintptr_t>(*p)] = bytes;
  }
  return e;
}

cudaError_t cudaFreeHost(void* p) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  gc_emu::flush_all(r);
  r.pinned.erase(reinterpret_cast<uintptr_t>(p));
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind k, cudaStream_t stream) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  gc_emu_stream* st = gc_emu::stream_of(r, stream);
  if (!st) return cudaErrorInvalidResourceHandle;
  if (int e = gc_emu::fire(r, gc_emu::kSiteMemcpy)) return e;
  if (n == 0) return cudaSuccess;
  const bool pageable = (k == cudaMemcpyHostToDevice && !gc_emu::is_pinned(r, s)) ||
                        (k == cudaMemcpyDeviceToHost && !gc_emu::is_pinned(r, d)) || k == cudaMemcpyHostToHost ||
                        k == cudaMemcpyDefault;
  if (pageable) {  // CUDA: returns when the pageable side is done with; in stream order
    gc_emu::flush(st, UINT64_MAX);
    std::memmove(d, s, n);
    return cudaSuccess;
  }
  // only a host source can change behind the stream's back (device memory is written by stream-ordered work,
  // which legitimately runs between the enqueue and the copy)
  gc_emu::Copy* c = new gc_emu::Copy{d, s, n, k == cudaMemcpyHostToDevice && n <= gc_emu::kHashLimit, 0};
  if (c->hashed) c->hash = gc_emu::hash_bytes(s, n);
  gc_emu::enqueue(st, gc_emu::Work{gc_emu::run_copy, c, [](void* p) { delete static_cast<gc_emu::Copy*>(p); }});
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  gc_emu_stream* st = gc_emu::stream_of(r, stream);
  if (!st) return cudaErrorInvalidResourceHandle;
  if (int e = gc_emu::fire(r, gc_emu::kSiteStreamSync)) return e;  // the queued work has not run
  gc_emu::flush(st, UINT64_MAX);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.lost) return r.lost;
  *s = new gc_emu_stream();
  r.streams.insert(*s);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t s) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (s == nullptr || !r.streams.count(s)) return cudaErrorInvalidResourceHandle;
  gc_emu::flush(s, UINT64_MAX);  // CUDA: queued work still completes
  r.streams.erase(s);
  for (gc_emu_event* e : r.events)
    if (e->stream == s) e->stream = nullptr;  // complete
  delete s;
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.lost) return r.lost;
  *e = new gc_emu_event();
  r.events.insert(*e);
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t stream) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  gc_emu_stream* st = gc_emu::stream_of(r, stream);
  if (!st || !e || !r.events.count(e)) return cudaErrorInvalidResourceHandle;
  if (r.lost) return r.lost;
  e->stream = st;
  e->position = st->enqueued;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!e || !r.events.count(e)) return cudaErrorInvalidResourceHandle;
  if (int err = gc_emu::fire(r, gc_emu::kSiteEventSync)) return err;  // the work before the event has not run
  if (e->stream) gc_emu::flush(e->stream, e->position);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!e || !r.events.erase(e)) return cudaErrorInvalidResourceHandle;
  delete e;
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t e, unsigned) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  gc_emu_stream* st = gc_emu::stream_of(r, stream);
  if (!st || !e || !r.events.count(e)) return cudaErrorInvalidResourceHandle;
  if (r.lost) return r.lost;
  ++r.waits;
  // Later work on `stream` must run after the event's work: running that work now is one valid order.
  if (e->stream) gc_emu::flush(e->stream, e->position);
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus* status) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!gc_emu::stream_of(r, s)) return cudaErrorInvalidResourceHandle;
  *status = cudaStreamCaptureStatusNone;
  return cudaSuccess;
}

cudaError_t cudaStreamGetDevice(cudaStream_t s, int* d) {
  gc_emu::Runtime& r = rt();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!gc_emu::stream_of(r, s)) return cudaErrorInvalidResourceHandle;
  *d = 0;
  return cudaSuccess;
}
