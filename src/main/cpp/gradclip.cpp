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
  gc::DeviceGuard guard;    // the engine's device and the last table whose pointers were checked
  std::vector<char> tables_on_device;  // the bytes of the tables last copied to d_tables (device-cached tables)
  bool pending = false;     // an async run whose result has not been waited for
  bool has_result = false;
  int64_t res_n = 0;
  int32_t res_op = 0;
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
    return cuda_fail(w, "cudaEventSynchronize (waiting for the asynchronous run)");
  }
  return GC_OK;
}

const char* op_name(int32_t op) {
  static const char* names[] = {"CLIP_VALUE", "NORMS", "CLIP_NORM", "CLIP_GLOBAL_NORM", "RENORMALIZE"};
  return op >= 0 && op <= 4 ? names[op] : "?";
}

int unpack(gc_engine* e, double* tensor_norms, double* tensor_scales, double* summary, int64_t* result_counts) {
  const char* r = e->h_result;
  const int64_t n = e->res_n;
  if (summary) std::memcpy(summary, r + gc::kResSummary, 2 * sizeof(double));
  if (result_counts) std::memcpy(result_counts, r + gc::kResCounts, 3 * sizeof(int64_t));
  if (n > 0 && tensor_norms) std::memcpy(tensor_norms, r + gc::kResNorms, static_cast<size_t>(n) * sizeof(double));
  if (n > 0 && tensor_scales) std::memcpy(tensor_scales, r + gc::kResNorms + 8 * n, static_cast<size_t>(n) * sizeof(double));
  int64_t status;
  std::memcpy(&status, r + gc::kResStatus, sizeof status);
  if (status == gc::kStatusError) {
    int64_t counts[3];
    double sum[2];
    std::memcpy(counts, r + gc::kResCounts, sizeof counts);
    std::memcpy(sum, r + gc::kResSummary, sizeof sum);
    if (e->res_op == GC_OP_CLIP_VALUE)
      return fail(GC_ERR_NONFINITE, "CLIP_VALUE: %lld non-finite elements with policy ERROR; nothing was written",
                  static_cast<long long>(counts[1]));
    if (e->res_op == GC_OP_CLIP_GLOBAL_NORM || e->res_op == GC_OP_NORMS)
      return fail(GC_ERR_NONFINITE, "%s: the total norm is not finite (%g) with policy ERROR; nothing was written",
                  op_name(e->res_op), sum[0]);
    return fail(GC_ERR_NONFINITE, "%s: a tensor norm is not finite with policy ERROR; nothing was written", op_name(e->res_op));
  }
  return GC_OK;
}

int validate(int32_t op, const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n, double a,
             double b, double norm_p, int32_t semantics, int32_t nonfinite, int64_t* nchunks) {
  if (op < GC_OP_CLIP_VALUE || op > GC_OP_RENORMALIZE) return fail(GC_ERR_INVALID_ARGUMENT, "op: unknown operation %d", op);
  if (n < 0) return fail(GC_ERR_INVALID_ARGUMENT, "n: negative tensor count %lld", static_cast<long long>(n));
  if (n > 0 && (!addresses || !counts || !dtypes))
    return fail(GC_ERR_INVALID_ARGUMENT, "%s: NULL table with n = %lld", !addresses ? "addresses" : !counts ? "counts" : "dtypes",
                static_cast<long long>(n));
  if (semantics != GC_SEMANTICS_TORCH && semantics != GC_SEMANTICS_TF)
    return fail(GC_ERR_INVALID_ARGUMENT, "semantics: unknown value %d", semantics);
  if (nonfinite < GC_NONFINITE_PROPAGATE || nonfinite > GC_NONFINITE_SKIP)
    return fail(GC_ERR_INVALID_ARGUMENT, "nonfinite: unknown policy %d", nonfinite);
  if (op == GC_OP_CLIP_VALUE) {
    if (std::isnan(a) || std::isnan(b)) return fail(GC_ERR_INVALID_ARGUMENT, "clip value: bound is NaN (lo = %g, hi = %g)", a, b);
    if (a > b) return fail(GC_ERR_INVALID_ARGUMENT, "clip value: lo > hi (lo = %g, hi = %g)", a, b);
  } else {
    if (std::isnan(norm_p) || !(norm_p > 0)) return fail(GC_ERR_INVALID_ARGUMENT, "norm_p: must be > 0 (got %g)", norm_p);
    if ((op == GC_OP_CLIP_NORM || op == GC_OP_CLIP_GLOBAL_NORM) && (std::isnan(a) || a < 0))
      return fail(GC_ERR_INVALID_ARGUMENT, "max_norm: must be >= 0 (got %g)", a);
  }
  int64_t chunks = 0;
  for (int64_t t = 0; t < n; ++t) {
    if (counts[t] < 0) return fail(GC_ERR_INVALID_ARGUMENT, "counts[%lld]: negative (%lld)", static_cast<long long>(t), static_cast<long long>(counts[t]));
    if (counts[t] > (int64_t{1} << 60)) return fail(GC_ERR_INVALID_ARGUMENT, "counts[%lld]: too large (%lld)", static_cast<long long>(t), static_cast<long long>(counts[t]));
    if (dtypes[t] < GC_FLOAT32 || dtypes[t] > GC_BFLOAT16) return fail(GC_ERR_INVALID_ARGUMENT, "dtypes[%lld]: unknown dtype %d", static_cast<long long>(t), dtypes[t]);
    if (counts[t] > 0 && addresses[t] == 0) return fail(GC_ERR_INVALID_ARGUMENT, "addresses[%lld]: NULL with %lld elements", static_cast<long long>(t), static_cast<long long>(counts[t]));
    chunks += (counts[t] + gc::kChunk - 1) / gc::kChunk;
  }
  *nchunks = chunks;
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

int gc_probe(int32_t* device_count, int32_t* cuda_error) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (device_count) *device_count = e == cudaSuccess ? count : 0;
  if (cuda_error) *cuda_error = static_cast<int32_t>(e == cudaSuccess && count == 0 ? 100 : e);
  if (e != cudaSuccess) {
    const int dv = gc::driver_version();
    return fail(GC_ERR_UNAVAILABLE, "CUDA unavailable: cudaGetDeviceCount returned %s (%d): %s; driver supports CUDA %d.%d, this build "
                "needs %d.%d (driver R580 or newer)", cudaGetErrorName(e), static_cast<int>(e), cudaGetErrorString(e), dv / 1000,
                (dv % 1000) / 10, gc::kMinDriverVersion / 1000, (gc::kMinDriverVersion % 1000) / 10);
  }
  if (count == 0) return fail(GC_ERR_UNAVAILABLE, "CUDA unavailable: no CUDA device (cudaErrorNoDevice, 100)");
  return GC_OK;
}

int gc_device_alloc(int64_t bytes, int64_t* out_address) {
  if (!out_address) return fail(GC_ERR_INVALID_ARGUMENT, "gc_device_alloc: out_address is NULL");
  if (bytes < 0) return fail(GC_ERR_INVALID_ARGUMENT, "gc_device_alloc: negative size %lld", static_cast<long long>(bytes));
  *out_address = 0;
  if (bytes == 0) return GC_OK;
  void* p = nullptr;
  GC_CUDA_TRY(cudaMalloc(&p, static_cast<size_t>(bytes)));
  *out_address = static_cast<int64_t>(reinterpret_cast<intptr_t>(p));
  return GC_OK;
}

int gc_device_free(int64_t address) {
  if (address == 0) return GC_OK;
  GC_CUDA_TRY(cudaFree(reinterpret_cast<void*>(static_cast<intptr_t>(address))));
  return GC_OK;
}

int gc_memcpy(int64_t dst, int64_t src, int64_t bytes, int32_t kind, int64_t stream) {
  if (bytes < 0) return fail(GC_ERR_INVALID_ARGUMENT, "gc_memcpy: negative size %lld", static_cast<long long>(bytes));
  if (kind < 0 || kind > 2) return fail(GC_ERR_INVALID_ARGUMENT, "gc_memcpy: unknown kind %d", kind);
  if (bytes == 0) return GC_OK;
  if (dst == 0 || src == 0) return fail(GC_ERR_INVALID_ARGUMENT, "gc_memcpy: NULL %s", dst == 0 ? "dst" : "src");
  static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
  cudaStream_t s = reinterpret_cast<cudaStream_t>(static_cast<intptr_t>(stream));
  GC_CUDA_TRY(cudaMemcpyAsync(reinterpret_cast<void*>(static_cast<intptr_t>(dst)), reinterpret_cast<const void*>(static_cast<intptr_t>(src)),
                              static_cast<size_t>(bytes), kinds[kind], s));
  GC_CUDA_TRY(cudaStreamSynchronize(s));
  return GC_OK;
}

int gc_engine_create(gc_engine** out) {
  if (!out) return fail(GC_ERR_INVALID_ARGUMENT, "gc_engine_create: out is NULL");
  *out = new (std::nothrow) gc_engine();
  if (!*out) return fail(GC_ERR_OUT_OF_MEMORY, "gc_engine_create: out of host memory");
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

int gc_run(gc_engine* e, int32_t op, const int64_t* addresses, const int64_t* counts, const int32_t* dtypes, int64_t n,
           double a, double b, double norm_p, int32_t semantics, int32_t nonfinite, int64_t stream, int32_t flags,
           double* tensor_norms, double* tensor_scales, double* summary, int64_t* result_counts) {
  if (!e) return fail(GC_ERR_INVALID_ARGUMENT, "gc_run: engine is NULL");
  int64_t nchunks = 0;
  if (int rc = validate(op, addresses, counts, dtypes, n, a, b, norm_p, semantics, nonfinite, &nchunks)) return rc;
  if (int rc = wait_pending(e)) return rc;
  e->has_result = false;
  // device safety (device_guard.h): alignment, the engine's device, the stream, the pointers
  char gmsg[512];
  cudaStream_t s = reinterpret_cast<cudaStream_t>(static_cast<intptr_t>(stream));
  gc::DeviceScope device_scope;
  if (int rc = gc::check_alignment(addresses, counts, dtypes, n, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  if (e->guard.device < 0)
    if (int rc = gc::guard_init(e->guard, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  if (int rc = device_scope.enter(e->guard, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  if (int rc = gc::check_stream(e->guard, s, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);
  if (int rc = gc::check_pointers(e->guard, addresses, counts, dtypes, n, gmsg, sizeof gmsg)) return fail(rc, "%s", gmsg);

  GcParams P{};
  P.n = n;
  P.nchunks = nchunks;
  P.op = op;
  P.semantics = semantics;
  P.policy = nonfinite;
  P.p = norm_p;
  P.pkind = norm_p == 1.0 ? gc::PK_1 : norm_p == 2.0 ? gc::PK_2 : std::isinf(norm_p) ? gc::PK_INF : gc::PK_GEN;
  P.max_norm = a;
  if (op == GC_OP_CLIP_VALUE) {  // bounds rounded once to each storage type
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
  }

  // workspace (layout and tables: gc_launch.h)
  const gc::GcSizes sz = gc::workspace_sizes(n, nchunks);
  const size_t tables_bytes = sz.tables, result_bytes = sz.result;
  const char* tables_before = e->d_tables;
  if (int rc = ensure_dev(e->d_tables, e->d_tables_cap, sz.tables)) return rc;
  if (e->d_tables != tables_before) e->tables_on_device.clear();
  if (int rc = ensure_dev(e->d_slots, e->d_slots_cap, sz.slots)) return rc;
  if (int rc = ensure_dev(e->d_result, e->d_result_cap, sz.result)) return rc;
  if (int rc = ensure_host(e->h_staging, e->h_staging_cap, sz.tables)) return rc;
  if (int rc = ensure_host(e->h_result, e->h_result_cap, sz.result)) return rc;
  gc::fill_tables(addresses, counts, dtypes, n, e->h_staging, P);
  const GcDev D = gc::bind_workspace(e->d_tables, e->d_slots, e->d_result, n, nchunks);

  // the tables stay on the device: an identical table (the usual case, every training step) is not copied again
  const bool cached = e->tables_on_device.size() == tables_bytes &&
                      (tables_bytes == 0 || std::memcmp(e->tables_on_device.data(), e->h_staging, tables_bytes) == 0);
  if (tables_bytes && !cached) {
    e->tables_on_device.clear();
    GC_CUDA_TRY(cudaMemcpyAsync(e->d_tables, e->h_staging, tables_bytes, cudaMemcpyHostToDevice, s));
    e->tables_on_device.assign(e->h_staging, e->h_staging + tables_bytes);
  }
  cudaError_t le = op == GC_OP_CLIP_VALUE ? gc::launch_clip_value(P, D, kGridCap, s) : gc::launch_norms(P, D, kGridCap, s);
  if (le != cudaSuccess) {
    cudaStreamSynchronize(s);  // the queued table copy must finish before the staging buffer is reused
    return cuda_fail(le, "kernel launch");
  }
  const cudaError_t ce = cudaMemcpyAsync(e->h_result, e->d_result, result_bytes, cudaMemcpyDeviceToHost, s);
  if (ce != cudaSuccess) {
    cudaStreamSynchronize(s);
    return cuda_fail(ce, "cudaMemcpyAsync (result block)");
  }
  e->res_n = n;
  e->res_op = op;
  e->has_result = true;
  if (flags & GC_FLAG_ASYNC) {
    // Outputs and the ERROR status come from gc_engine_result(), on both backends (the emulated one
    // has already finished the work here).
#ifndef GC_EMULATED
    if (!e->done) GC_CUDA_TRY(cudaEventCreateWithFlags(&e->done, cudaEventDisableTiming));
    GC_CUDA_TRY(cudaEventRecord(e->done, s));
    e->pending = true;
#endif
    return GC_OK;
  }
  GC_CUDA_TRY(cudaStreamSynchronize(s));
  return unpack(e, tensor_norms, tensor_scales, summary, result_counts);
}

int gc_engine_result(gc_engine* e, double* tensor_norms, double* tensor_scales, double* summary, int64_t* result_counts) {
  if (!e) return fail(GC_ERR_INVALID_ARGUMENT, "gc_engine_result: engine is NULL");
  if (!e->has_result) return fail(GC_ERR_INVALID_ARGUMENT, "gc_engine_result: the engine holds no result");
  if (int rc = wait_pending(e)) return rc;
  return unpack(e, tensor_norms, tensor_scales, summary, result_counts);
}

}  // extern "C"
