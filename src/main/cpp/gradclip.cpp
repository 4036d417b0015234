// gradclip.cpp - the C API: argument validation, workspace (gc_engine), launch planning, errors.
// Compiled twice by g++: against the CUDA runtime (libgradclip.so, kernels from nvcc) and with
// GC_EMULATED against the emulation layer (libgradclip-emu.so, kernels from g++).
#include "gradclip.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <vector>

#include "device_guard.h"
#include "gc_launch.h"

using gc::GcDev;
using gc::GcParams;

namespace {

thread_local char g_err[1024] = "";

int fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
int fail(int code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(g_err, sizeof g_err, fmt, ap);
  va_end(ap);
  return code;
}

int cuda_fail(cudaError_t e, const char* what) {
  const int code = e == cudaErrorMemoryAllocation ? GC_ERR_OUT_OF_MEMORY : GC_ERR_CUDA;
  if (gc::is_sticky(e))  // device_guard.h: every later CUDA call in this process will fail too
    return fail(code, "%s failed: %s (%d): %s: the CUDA context is lost (a sticky error; the process must restart its CUDA work)",
                what, cudaGetErrorName(e), static_cast<int>(e), cudaGetErrorString(e));
  return fail(code, "%s failed: %s (%d): %s", what, cudaGetErrorName(e), static_cast<int>(e), cudaGetErrorString(e));
}

#define GC_CUDA_TRY(call)                                  \
  do {                                                     \
    cudaError_t gc_e_ = (call);                            \
    if (gc_e_ != cudaSuccess) return cuda_fail(gc_e_, #call); \
  } while (0)

#ifdef GC_EMULATED
constexpr unsigned kGridCap = 8;  // small grids exercise the grid-stride loops and save fiber setups
#else
constexpr unsigned kGridCap = 0x7fffffffu;
#endif

// Round a double to a binary format with `ebits` exponent and `mbits` fraction bits (fp16: 5/10,
// bf16: 8/7), round to nearest, ties to even, one rounding; overflow -> inf; NaN -> quiet NaN.
uint16_t round_f64_small(double x, int ebits, int mbits) {
  uint64_t u;
  std::memcpy(&u, &x, 8);
  const uint32_t sign = static_cast<uint32_t>(u >> 63) << (ebits + mbits);
  const uint64_t ax = u & 0x7fffffffffffffffull;
  const uint32_t expmask = (1u << ebits) - 1u;
  const uint32_t inf = expmask << mbits;
  if (ax > 0x7ff0000000000000ull) return static_cast<uint16_t>(sign | inf | (1u << (mbits - 1)));
  if (ax == 0x7ff0000000000000ull) return static_cast<uint16_t>(sign | inf);
  const int bias = static_cast<int>(expmask >> 1);
  const int e2 = static_cast<int>(ax >> 52) - 1023;
  if (e2 < -1022) return static_cast<uint16_t>(sign);  // fp64 subnormal: far below any target subnormal
  const uint64_t sig = (ax & 0xfffffffffffffull) | (1ull << 52);
  const int emin = 1 - bias;
  const int shift = e2 >= emin ? 52 - mbits : 52 - mbits + (emin - e2);
  if (shift > 63) return static_cast<uint16_t>(sign);
  uint64_t q = sig >> shift;
  const uint64_t rem = sig & ((1ull << shift) - 1ull), half = 1ull << (shift - 1);
  if (rem > half || (rem == half && (q & 1ull))) ++q;
  uint64_t b = e2 >= emin ? (static_cast<uint64_t>(e2 + bias) << mbits) + q - (1ull << mbits) : q;
  if (b >= inf) b = inf;
  return static_cast<uint16_t>(sign | static_cast<uint32_t>(b));
}

}  // namespace

struct gc_engine {
  char* d_tables = nullptr;  size_t d_tables_cap = 0;
  char* d_slots = nullptr;   size_t d_slots_cap = 0;
  char* d_result = nullptr;  size_t d_result_cap = 0;
  char* h_staging = nullptr; size_t h_staging_cap = 0;
  char* h_result = nullptr;  size_t h_result_cap = 0;
  cudaEvent_t done = nullptr;
  bool pending = false;     // an asynchronous global clip whose result has not been waited for
  bool has_result = false;  // h_result holds the last global clip's result block
  int64_t res_n = 0;
  gc::DeviceGuard guard;    // the engine's device and the last table whose pointers were checked (device_guard.h)
  // Device-cached tables: the caller's table whose tensor and chunk tables are in d_tables (the tables are a
  // function of addresses, counts and dtypes only), and its dtype ranges. An identical table (every training
  // step) is neither refilled nor copied again.
  bool tables_valid = false;
  std::vector<int64_t> tab_addr, tab_count;
  std::vector<int32_t> tab_dtype;
  int64_t tab_dt_begin[gc::kDtypes + 1] = {};
};

namespace {

size_t grow(size_t cap, size_t need) {
  size_t c = cap + cap / 2;
  if (c < need) c = need;
  if (c < 4096) c = 4096;
  return c;
}
int ensure_dev(char*& p, size_t& cap, size_t need) {
  if (need <= cap) return GC_OK;
  const size_t c = grow(cap, need);
  if (p) GC_CUDA_TRY(cudaFree(p));
  p = nullptr;
  cap = 0;
  void* q = nullptr;
  GC_CUDA_TRY(cudaMalloc(&q, c));
  p = static_cast<char*>(q);
  cap = c;
  return GC_OK;
}
int ensure_host(char*& p, size_t& cap, size_t need) {
  if (need <= cap) return GC_OK;
  const size_t c = grow(cap, need);
  if (p) GC_CUDA_TRY(cudaFreeHost(p));
  p = nullptr;
  cap = 0;
  void* q = nullptr;
  GC_CUDA_TRY(cudaMallocHost(&q, c));
  p = static_cast<char*>(q);
  cap = c;
  return GC_OK;
}

int wait_pending(gc_engine* e) {
  if (!e->pending) return GC_OK;
  e->pending = false;
  const cudaError_t w = cudaEventSynchronize(e->done);
  if (w != cudaSuccess) {
    e->has_result = false;  // the result block was never completed: never report it as valid
    return cuda_fail(w, "cudaEventSynchronize (waiting for the asynchronous global clip)");
  }
  return GC_OK;
}

cudaStream_t as_stream(int64_t stream) { return reinterpret_cast<cudaStream_t>(static_cast<intptr_t>(stream)); }

// Validates a tensor table; *nchunks = its chunk count.
int validate_table(const char* fn, const gc_tensor_table* table, int64_t* nchunks) {
  if (!table) return fail(GC_ERR_INVALID_ARGUMENT, "%s: table is NULL", fn);
  const int64_t n = table->n;
  if (n < 0) return fail(GC_ERR_INVALID_ARGUMENT, "%s: table->n: negative tensor count %lld", fn, static_cast<long long>(n));
  if (n > 0 && (!table->addresses || !table->counts || !table->dtypes))
    return fail(GC_ERR_INVALID_ARGUMENT, "%s: table->%s is NULL with n = %lld", fn,
                !table->addresses ? "addresses" : !table->counts ? "counts" : "dtypes", static_cast<long long>(n));
  int64_t chunks = 0;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t cnt = table->counts[t];
    const int32_t dt = table->dtypes[t];
    if (cnt < 0) return fail(GC_ERR_INVALID_ARGUMENT, "%s: counts[%lld]: negative (%lld)", fn, static_cast<long long>(t), static_cast<long long>(cnt));
    if (cnt > (int64_t{1} << 60)) return fail(GC_ERR_INVALID_ARGUMENT, "%s: counts[%lld]: too large (%lld)", fn, static_cast<long long>(t), static_cast<long long>(cnt));
    if (dt < GC_FLOAT32 || dt > GC_BFLOAT16) return fail(GC_ERR_INVALID_ARGUMENT, "%s: dtypes[%lld]: unknown dtype %d", fn, static_cast<long long>(t), dt);
    if (cnt > 0 && table->addresses[t] == 0)
      return fail(GC_ERR_INVALID_ARGUMENT, "%s: addresses[%lld]: NULL with %lld elements", fn, static_cast<long long>(t), static_cast<long long>(cnt));
    chunks += (cnt + gc::kChunk - 1) / gc::kChunk;
  }
  *nchunks = chunks;
  return GC_OK;
}

int validate_norm(const char* fn, int32_t kind, double p, gc::PKind* pk) {
  switch (kind) {
    case GC_NORM_L1: *pk = gc::PK_1; return GC_OK;
    case GC_NORM_L2: *pk = gc::PK_2; return GC_OK;
    case GC_NORM_INF: *pk = gc::PK_INF; return GC_OK;
    case GC_NORM_GENERAL:
      if (!std::isfinite(p) || !(p > 0) || p == 1.0 || p == 2.0)
        return fail(GC_ERR_INVALID_ARGUMENT, "%s: GC_NORM_GENERAL needs a finite p > 0 other than 1 and 2 (got %g)", fn, p);
      *pk = gc::PK_GEN;
      return GC_OK;
    default: return fail(GC_ERR_INVALID_ARGUMENT, "%s: unknown norm kind %d", fn, kind);
  }
}

// The per-call device state: tables copied to the device, slots and the result block assigned.
struct Call {
  gc::GcParams P{};
  gc::GcDev D{};
  size_t result_bytes = 0;
  cudaStream_t s = nullptr;
  gc::DeviceScope device;  // the engine's device is current for the whole call (device_guard.h)
};

// A call failed after this pass queued work (the table copy from the pinned staging buffer, the result
// copy into the pinned result mirror): wait for the queued work first, so that the next call cannot
// rewrite a pinned buffer under a copy still in flight, then report. (After a sticky error the context
// runs nothing more: the wait fails too, and nothing is in flight.)
int queued_fail(Call& c, cudaError_t err, const char* what) {
  cudaStreamSynchronize(c.s);
  return cuda_fail(err, what);
}

#define GC_QUEUED_TRY(c, call)                                         \
  do {                                                                 \
    cudaError_t gc_e_ = (call);                                        \
    if (gc_e_ != cudaSuccess) return queued_fail((c), gc_e_, #call);   \
  } while (0)

// Waits for a pending global clip, grows the workspace, copies the tensor and chunk tables to the device.
int begin(gc_engine* e, const gc_tensor_table* table, int64_t nchunks, int64_t stream, Call* c) {
  if (int rc = wait_pending(e)) return rc;
  e->has_result = false;
  const int64_t n = table->n;
  c->s = as_stream(stream);
  // device safety (device_guard.h): alignment, the engine's device, the stream, the pointers
  char gmsg[512];
  if (int rc = gc::check_alignment(table->addresses, table->counts, table->dtypes, n, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  if (e->guard.device < 0)
    if (int rc = gc::guard_init(e->guard, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  if (int rc = c->device.enter(e->guard, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  if (int rc = gc::check_stream(e->guard, c->s, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  if (int rc = gc::check_pointers(e->guard, table->addresses, table->counts, table->dtypes, n, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  c->P.n = n;
  c->P.nchunks = nchunks;
  c->P.p = 2.0;
  c->P.pkind = gc::PK_2;
  // workspace (layout and tables: gc_launch.h; the chunk table is grouped by dtype)
  const gc::GcSizes sz = gc::workspace_sizes(n, nchunks);
  c->result_bytes = sz.result;
  const char* tables_before = e->d_tables;
  if (int rc = ensure_dev(e->d_tables, e->d_tables_cap, sz.tables)) return rc;
  if (e->d_tables != tables_before) e->tables_valid = false;
  if (int rc = ensure_dev(e->d_slots, e->d_slots_cap, sz.slots)) return rc;
  if (int rc = ensure_dev(e->d_result, e->d_result_cap, sz.result)) return rc;
  if (int rc = ensure_host(e->h_staging, e->h_staging_cap, sz.tables)) return rc;
  if (int rc = ensure_host(e->h_result, e->h_result_cap, sz.result)) return rc;
  c->D = gc::bind_workspace(e->d_tables, e->d_slots, e->d_result, n, nchunks);
  // the tables stay on the device: an identical table (the usual case, every training step) is not refilled
  // or copied again
  const size_t un = static_cast<size_t>(n);
  const bool cached = e->tables_valid && e->tab_addr.size() == un &&
                      (n == 0 || (std::memcmp(e->tab_addr.data(), table->addresses, un * 8) == 0 &&
                                  std::memcmp(e->tab_count.data(), table->counts, un * 8) == 0 &&
                                  std::memcmp(e->tab_dtype.data(), table->dtypes, un * 4) == 0));
  if (cached) {
    std::memcpy(c->P.dt_begin, e->tab_dt_begin, sizeof e->tab_dt_begin);
  } else {
    e->tables_valid = false;
    gc::fill_tables(table->addresses, table->counts, table->dtypes, n, e->h_staging, c->P);
    if (sz.tables) GC_CUDA_TRY(cudaMemcpyAsync(e->d_tables, e->h_staging, sz.tables, cudaMemcpyHostToDevice, c->s));
    e->tab_addr.assign(table->addresses, table->addresses + un);
    e->tab_count.assign(table->counts, table->counts + un);
    e->tab_dtype.assign(table->dtypes, table->dtypes + un);
    std::memcpy(e->tab_dt_begin, c->P.dt_begin, sizeof e->tab_dt_begin);
    e->tables_valid = true;
  }
  return GC_OK;
}


// Copies the result block to the host and waits.
int finish_sync(gc_engine* e, Call& c) {
  GC_QUEUED_TRY(c, cudaMemcpyAsync(e->h_result, e->d_result, c.result_bytes, cudaMemcpyDeviceToHost, c.s));
  GC_CUDA_TRY(cudaStreamSynchronize(c.s));
  return GC_OK;
}

int64_t res_count(const gc_engine* e, int j) {
  int64_t v;
  std::memcpy(&v, e->h_result + gc::kResCounts + 8 * j, sizeof v);
  return v;
}

// The clamp kernels with PROPAGATE (one fused pass, then the counts).
int run_clamp(gc_engine* e, const gc_tensor_table* table, int64_t nchunks, double a, double b, int64_t stream,
              int64_t* clipped, int64_t* nonfinite) {
  Call c;
  if (int rc = begin(e, table, nchunks, stream, &c)) return rc;
  gc::GcParams& P = c.P;
  P.op = 0;  // clip value
  P.policy = GC_NONFINITE_PROPAGATE;
  P.lo64 = a;
  P.hi64 = b;
  P.lo32 = static_cast<float>(a);
  P.hi32 = static_cast<float>(b);
  // bounds go to fp32 first (one rounding), then to fp16/bf16: what c10::Half(float) and the Java backend do
  const double a32 = static_cast<float>(a), b32 = static_cast<float>(b);
  P.lo16 = round_f64_small(a32, 5, 10);
  P.hi16 = round_f64_small(b32, 5, 10);
  P.lobf = round_f64_small(a32, 8, 7);
  P.hibf = round_f64_small(b32, 8, 7);
  const cudaError_t le = gc::launch_clip_value(P, c.D, kGridCap, c.s);
  if (le != cudaSuccess) return queued_fail(c, le, "kernel launch");
  if (int rc = finish_sync(e, c)) return rc;
  if (clipped) *clipped = res_count(e, 0);
  if (nonfinite) *nonfinite = res_count(e, 1);
  return GC_OK;
}

// One norm pipeline (partials, tensor folds, the finalize of the NORMS op) with pkind pk.
int launch_norm_pass(Call& c, gc::PKind pk, double p) {
  c.P.op = 1;  // norms: nothing written
  c.P.pkind = pk;
  c.P.p = p;
  c.P.policy = GC_NONFINITE_PROPAGATE;
  c.P.semantics = GC_SEMANTICS_TORCH;
  const cudaError_t le = gc::launch_norms(c.P, c.D, kGridCap, c.s);
  if (le != cudaSuccess) return queued_fail(c, le, "kernel launch");
  return GC_OK;
}

void unpack_global(const gc_engine* e, gc_global_clip_result* out) {
  const char* r = e->h_result;
  const int64_t n = e->res_n;
  double sum[2];
  int64_t counts[3];
  std::memcpy(sum, r + gc::kResSummary, sizeof sum);
  std::memcpy(counts, r + gc::kResCounts, sizeof counts);
  if (n > 0 && out->tensor_norms) std::memcpy(out->tensor_norms, r + gc::kResNorms, static_cast<size_t>(n) * sizeof(double));
  int64_t status;
  std::memcpy(&status, r + gc::kResStatus, sizeof status);
  out->total_norm = sum[0];
  out->scale = sum[1];
  out->clipped_elements = counts[0];
  out->nonfinite_elements = counts[1];
  out->stopped = status != gc::kStatusOk ? 1 : 0;
}

int global_status(const gc_engine* e) {
  int64_t status;
  std::memcpy(&status, e->h_result + gc::kResStatus, sizeof status);
  if (status == gc::kStatusError) {
    double sum[2];
    std::memcpy(sum, e->h_result + gc::kResSummary, sizeof sum);
    return fail(GC_ERR_NONFINITE, "gc_clip_global_norm: the total norm (%g) or the scale is not finite with policy ERROR; nothing was written", sum[0]);
  }
  return GC_OK;
}

}  // namespace

extern "C" {

const char* gc_backend_name(void) {
#ifdef GC_EMULATED
  return "emulated";
#else
  return "cuda";
#endif
}

const char* gc_last_error(void) { return g_err; }

gc_status gc_probe(int32_t* device_count, int32_t* cuda_error) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (device_count) *device_count = e == cudaSuccess ? count : 0;
  if (cuda_error) *cuda_error = static_cast<int32_t>(e == cudaSuccess && count == 0 ? 100 : e);
  if (e != cudaSuccess) {
    const int dv = gc::driver_version();
    return static_cast<gc_status>(fail(GC_ERR_UNAVAILABLE, "CUDA unavailable: cudaGetDeviceCount returned %s (%d): %s; the driver supports "
                                       "CUDA %d.%d, this build needs %d.%d (driver R580 or newer)", cudaGetErrorName(e), static_cast<int>(e),
                                       cudaGetErrorString(e), dv / 1000, (dv % 1000) / 10, gc::kMinDriverVersion / 1000,
                                       (gc::kMinDriverVersion % 1000) / 10));
  }
  if (count == 0) return static_cast<gc_status>(fail(GC_ERR_UNAVAILABLE, "CUDA unavailable: no CUDA device (cudaErrorNoDevice, 100)"));
  return GC_OK;
}

#define GC_RET(expr) return static_cast<gc_status>(expr)

// The status of a pass; after a CUDA failure the device copy of the tables may never have arrived (a copy
// dropped with a lost context), so the table cache is forgotten: the next call copies the tables again.
static gc_status pass_status(gc_engine* e, int rc) {
  if (rc == GC_ERR_CUDA || rc == GC_ERR_OUT_OF_MEMORY) e->tables_valid = false;
  return static_cast<gc_status>(rc);
}

static int device_alloc(int64_t bytes, int64_t* out_address) {
  if (!out_address) return fail(GC_ERR_INVALID_ARGUMENT, "gc_device_alloc: out_address is NULL");
  if (bytes < 0) return fail(GC_ERR_INVALID_ARGUMENT, "gc_device_alloc: negative size %lld", static_cast<long long>(bytes));
  *out_address = 0;
  if (bytes == 0) return GC_OK;
  void* p = nullptr;
  GC_CUDA_TRY(cudaMalloc(&p, static_cast<size_t>(bytes)));
  *out_address = static_cast<int64_t>(reinterpret_cast<intptr_t>(p));
  return GC_OK;
}
gc_status gc_device_alloc(int64_t bytes, int64_t* out_address) { GC_RET(device_alloc(bytes, out_address)); }

static int device_free(int64_t address) {
  if (address == 0) return GC_OK;
  GC_CUDA_TRY(cudaFree(reinterpret_cast<void*>(static_cast<intptr_t>(address))));
  return GC_OK;
}
gc_status gc_device_free(int64_t address) { GC_RET(device_free(address)); }

static int memcpy_impl(int64_t dst, int64_t src, int64_t bytes, int32_t kind, int64_t stream) {
  if (bytes < 0) return fail(GC_ERR_INVALID_ARGUMENT, "gc_memcpy: negative size %lld", static_cast<long long>(bytes));
  if (kind < GC_COPY_HOST_TO_DEVICE || kind > GC_COPY_DEVICE_TO_DEVICE) return fail(GC_ERR_INVALID_ARGUMENT, "gc_memcpy: unknown kind %d", kind);
  if (bytes == 0) return GC_OK;
  if (dst == 0 || src == 0) return fail(GC_ERR_INVALID_ARGUMENT, "gc_memcpy: NULL %s", dst == 0 ? "dst" : "src");
  static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
  cudaStream_t s = as_stream(stream);
  GC_CUDA_TRY(cudaMemcpyAsync(reinterpret_cast<void*>(static_cast<intptr_t>(dst)), reinterpret_cast<const void*>(static_cast<intptr_t>(src)),
                              static_cast<size_t>(bytes), kinds[kind], s));
  GC_CUDA_TRY(cudaStreamSynchronize(s));
  return GC_OK;
}
gc_status gc_memcpy(int64_t dst, int64_t src, int64_t bytes, gc_copy_kind kind, int64_t stream) {
  GC_RET(memcpy_impl(dst, src, bytes, static_cast<int32_t>(kind), stream));
}

static int stream_create(int64_t* out_stream) {
  if (!out_stream) return fail(GC_ERR_INVALID_ARGUMENT, "gc_stream_create: out_stream is NULL");
  *out_stream = 0;
  cudaStream_t s = nullptr;
  GC_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  *out_stream = static_cast<int64_t>(reinterpret_cast<intptr_t>(s));
  return GC_OK;
}
gc_status gc_stream_create(int64_t* out_stream) { GC_RET(stream_create(out_stream)); }

static int stream_destroy(int64_t stream) {
  if (stream == 0) return fail(GC_ERR_INVALID_ARGUMENT, "gc_stream_destroy: stream 0 is the default stream");
  GC_CUDA_TRY(cudaStreamDestroy(as_stream(stream)));
  return GC_OK;
}
gc_status gc_stream_destroy(int64_t stream) { GC_RET(stream_destroy(stream)); }

static int stream_wait_event(int64_t stream, int64_t event) {
  if (event == 0) return fail(GC_ERR_INVALID_ARGUMENT, "gc_stream_wait_event: event is 0 (NULL)");
  GC_CUDA_TRY(cudaStreamWaitEvent(as_stream(stream), reinterpret_cast<cudaEvent_t>(static_cast<intptr_t>(event)), 0));
  return GC_OK;
}
gc_status gc_stream_wait_event(int64_t stream, int64_t event) { GC_RET(stream_wait_event(stream, event)); }

gc_status gc_engine_create(gc_engine** out) {
  if (!out) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_engine_create: out is NULL"));
  *out = new (std::nothrow) gc_engine();
  if (!*out) GC_RET(fail(GC_ERR_OUT_OF_MEMORY, "gc_engine_create: out of host memory"));
  return GC_OK;
}

void gc_engine_destroy(gc_engine* e) {
  if (!e) return;
  wait_pending(e);
  if (e->done) cudaEventDestroy(e->done);
  if (e->d_tables) cudaFree(e->d_tables);
  if (e->d_slots) cudaFree(e->d_slots);
  if (e->d_result) cudaFree(e->d_result);
  if (e->h_staging) cudaFreeHost(e->h_staging);
  if (e->h_result) cudaFreeHost(e->h_result);
  delete e;
}

gc_status gc_chunk_count(const gc_tensor_table* table, int64_t* out_chunks) {
  if (!out_chunks) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_chunk_count: out_chunks is NULL"));
  int64_t nchunks = 0;
  if (int rc = validate_table("gc_chunk_count", table, &nchunks)) GC_RET(rc);
  *out_chunks = nchunks;
  return GC_OK;
}

gc_status gc_count_nonfinite(gc_engine* e, const gc_tensor_table* table, int64_t stream, gc_count_result* out) {
  if (!e) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_count_nonfinite: engine is NULL"));
  if (!out) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_count_nonfinite: out is NULL"));
  int64_t nchunks = 0;
  if (int rc = validate_table("gc_count_nonfinite", table, &nchunks)) GC_RET(rc);
  // the clamp pass with bounds -inf, +inf: no element is below or above them, so nothing is written
  const double inf = std::numeric_limits<double>::infinity();
  return pass_status(e, run_clamp(e, table, nchunks, -inf, inf, stream, nullptr, &out->nonfinite_elements));
}

gc_status gc_clamp(gc_engine* e, const gc_tensor_table* table, double lo, double hi, int64_t stream, gc_clamp_result* out) {
  if (!e) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_clamp: engine is NULL"));
  if (!out) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_clamp: out is NULL"));
  if (std::isnan(lo) || std::isnan(hi)) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_clamp: bound is NaN (lo = %g, hi = %g)", lo, hi));
  if (lo > hi) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_clamp: lo > hi (lo = %g, hi = %g)", lo, hi));
  int64_t nchunks = 0;
  if (int rc = validate_table("gc_clamp", table, &nchunks)) GC_RET(rc);
  return pass_status(e, run_clamp(e, table, nchunks, lo, hi, stream, &out->clipped_elements, &out->nonfinite_elements));
}

static int norms_impl(gc_engine* e, const gc_tensor_table* table, int32_t kind, double p, int64_t stream, gc_norms_result* out) {
  if (!e) return fail(GC_ERR_INVALID_ARGUMENT, "gc_norms: engine is NULL");
  if (!out) return fail(GC_ERR_INVALID_ARGUMENT, "gc_norms: out is NULL");
  gc::PKind pk = gc::PK_2;
  if (int rc = validate_norm("gc_norms", kind, p, &pk)) return rc;
  int64_t nchunks = 0;
  if (int rc = validate_table("gc_norms", table, &nchunks)) return rc;
  Call c;
  if (int rc = begin(e, table, nchunks, stream, &c)) return rc;
  const int64_t n = table->n;
  // general p: launch_norms runs the max pass (m_t in D.tmax, the non-finite counts), then pow(|x| / m_t, p)
  if (int rc = launch_norm_pass(c, pk, p)) return rc;
  if (pk == gc::PK_GEN && n > 0 && out->tensor_max_abs)
    GC_QUEUED_TRY(c, cudaMemcpyAsync(out->tensor_max_abs, c.D.tmax, static_cast<size_t>(n) * 8, cudaMemcpyDeviceToHost, c.s));
  if (nchunks > 0 && out->chunk_sums)
    GC_QUEUED_TRY(c, cudaMemcpyAsync(out->chunk_sums, c.D.partial, static_cast<size_t>(nchunks) * 8, cudaMemcpyDeviceToHost, c.s));
  if (n > 0 && out->tensor_sums)
    GC_QUEUED_TRY(c, cudaMemcpyAsync(out->tensor_sums, c.D.tsum, static_cast<size_t>(n) * 8, cudaMemcpyDeviceToHost, c.s));
  if (int rc = finish_sync(e, c)) return rc;
  out->nonfinite_elements = res_count(e, 1);
  return GC_OK;
}
gc_status gc_norms(gc_engine* e, const gc_tensor_table* table, gc_norm_kind kind, double p, int64_t stream, gc_norms_result* out) {
  if (!e) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_norms: engine is NULL"));
  return pass_status(e, norms_impl(e, table, static_cast<int32_t>(kind), p, stream, out));
}

static double applied_scale(double s, int32_t dtype) { return dtype == GC_FLOAT64 ? s : static_cast<double>(static_cast<float>(s)); }

static int scale_impl(gc_engine* e, const gc_tensor_table* table, const double* tensor_scales, int64_t stream, gc_scale_result* out) {
  if (!e) return fail(GC_ERR_INVALID_ARGUMENT, "gc_scale: engine is NULL");
  if (!out) return fail(GC_ERR_INVALID_ARGUMENT, "gc_scale: out is NULL");
  int64_t nchunks = 0;
  if (int rc = validate_table("gc_scale", table, &nchunks)) return rc;
  const int64_t n = table->n;
  if (n > 0 && !tensor_scales) return fail(GC_ERR_INVALID_ARGUMENT, "gc_scale: tensor_scales is NULL with n = %lld", static_cast<long long>(n));
  int64_t written = 0;
  for (int64_t t = 0; t < n; ++t)
    if (applied_scale(tensor_scales[t], table->dtypes[t]) != 1.0) written += table->counts[t];
  out->written_elements = written;
  if (written == 0) return wait_pending(e);  // nothing to write: not even a launch
  Call c;
  if (int rc = begin(e, table, nchunks, stream, &c)) return rc;
  c.P.op = 2;  // per-tensor scales (the scale kernel's global shortcut is for op 3 only)
  // the result block as the scale kernel reads it: status ok, scales[n]
  std::memset(e->h_result, 0, c.result_bytes);
  std::memcpy(e->h_result + gc::kResNorms + 8 * n, tensor_scales, static_cast<size_t>(n) * sizeof(double));
  GC_QUEUED_TRY(c, cudaMemcpyAsync(e->d_result, e->h_result, c.result_bytes, cudaMemcpyHostToDevice, c.s));
  const cudaError_t le = gc::launch_scale(c.P, c.D, kGridCap, c.s);
  if (le != cudaSuccess) return queued_fail(c, le, "kernel launch");
  GC_CUDA_TRY(cudaStreamSynchronize(c.s));
  return GC_OK;
}
gc_status gc_scale(gc_engine* e, const gc_tensor_table* table, const double* tensor_scales, int64_t stream, gc_scale_result* out) {
  if (!e) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_scale: engine is NULL"));
  return pass_status(e, scale_impl(e, table, tensor_scales, stream, out));
}

static int clip_global_impl(gc_engine* e, const gc_tensor_table* table, int32_t kind, double max_norm, int32_t semantics,
                            int32_t policy, int64_t stream, int32_t flags, gc_global_clip_result* out) {
  if (!e) return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm: engine is NULL");
  const bool async = (flags & GC_FLAG_ASYNC) != 0;
  if (!async && !out) return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm: out is NULL");
  if (flags & ~GC_FLAG_ASYNC) return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm: unknown flags 0x%x", flags);
  if (kind == GC_NORM_GENERAL)
    return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm: general p is not fused; compose gc_norms and gc_scale");
  gc::PKind pk = gc::PK_2;
  if (int rc = validate_norm("gc_clip_global_norm", kind, 0.0, &pk)) return rc;
  if (std::isnan(max_norm) || max_norm < 0 || std::isinf(max_norm))
    return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm: max_norm must be finite and >= 0 (got %g)", max_norm);
  if (semantics != GC_SEMANTICS_TORCH && semantics != GC_SEMANTICS_TF)
    return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm: unknown semantics %d", semantics);
  if (policy < GC_NONFINITE_PROPAGATE || policy > GC_NONFINITE_SKIP)
    return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm: unknown policy %d", policy);
  int64_t nchunks = 0;
  if (int rc = validate_table("gc_clip_global_norm", table, &nchunks)) return rc;
  Call c;
  if (int rc = begin(e, table, nchunks, stream, &c)) return rc;
  c.P.op = 3;  // global norm: norms, finalize (scale and policy on the device), scale
  c.P.pkind = pk;
  c.P.p = pk == gc::PK_1 ? 1.0 : pk == gc::PK_2 ? 2.0 : std::numeric_limits<double>::infinity();
  c.P.semantics = semantics;
  c.P.policy = policy;
  c.P.max_norm = max_norm;
  const cudaError_t le = gc::launch_norms(c.P, c.D, kGridCap, c.s);
  if (le != cudaSuccess) return queued_fail(c, le, "kernel launch");
  GC_QUEUED_TRY(c, cudaMemcpyAsync(e->h_result, e->d_result, c.result_bytes, cudaMemcpyDeviceToHost, c.s));
  if (async) {
    if (!e->done) GC_QUEUED_TRY(c, cudaEventCreateWithFlags(&e->done, cudaEventDisableTiming));
    GC_QUEUED_TRY(c, cudaEventRecord(e->done, c.s));
    e->res_n = table->n;
    e->has_result = true;
    e->pending = true;
    return GC_OK;
  }
  GC_CUDA_TRY(cudaStreamSynchronize(c.s));  // a failed wait leaves has_result false: the block was never completed
  e->res_n = table->n;
  e->has_result = true;
  unpack_global(e, out);
  return global_status(e);
}
gc_status gc_clip_global_norm(gc_engine* e, const gc_tensor_table* table, gc_norm_kind kind, double max_norm, gc_semantics semantics,
                              gc_nonfinite_policy policy, int64_t stream, int32_t flags, gc_global_clip_result* out) {
  if (!e) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm: engine is NULL"));
  return pass_status(e, clip_global_impl(e, table, static_cast<int32_t>(kind), max_norm, static_cast<int32_t>(semantics), static_cast<int32_t>(policy),
                          stream, flags, out));
}

static int wait_impl(gc_engine* e, gc_global_clip_result* out) {
  if (!e) return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm_wait: engine is NULL");
  if (!out) return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm_wait: out is NULL");
  if (!e->has_result) return fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm_wait: the engine holds no global-clip result");
  if (int rc = wait_pending(e)) return rc;
  unpack_global(e, out);
  return global_status(e);
}
gc_status gc_clip_global_norm_wait(gc_engine* e, gc_global_clip_result* out) {
  if (!e) GC_RET(fail(GC_ERR_INVALID_ARGUMENT, "gc_clip_global_norm_wait: engine is NULL"));
  return pass_status(e, wait_impl(e, out));
}

}  // extern "C"
