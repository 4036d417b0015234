// gc_check.cpp - the GPU check driver (no JVM): device-memory results bit for bit against the C++
// reference of docs/canonical-reduction.md (src/test/cpp/reference.h), then CUDA-event timings of every
// op and shape set next to a device-to-device copy of the same bytes. Built two ways by
// scripts/gpu/check: against libgradclip.so (GC_CHECK_CUDA, the real run) and against
// libgradclip-emu.so (the dry run on a machine without a GPU: same checks, small sizes, chrono timings).
//
//   gc_check [--quick] [--cases N] [--big] [--time SHAPES_DIR] [--reps N] [--json FILE]
//     --quick  few, small correctness cases (compute-sanitizer runs, the dry run)
//     --cases  the number of random correctness cases (default 400, 40 with --quick; 0 skips them)
//     --big    a 2^31 + 1,025 element fp16 tensor (4 GiB on the device, ~8 GiB of host memory)
//     --time   time each op on gpt2-small, one-large (2^28 fp32), many-small (10,000 tensors) and one
//              element (the fixed cost of a call), fresh
//              gradients restored before every timed call, outside the timed region
// Exit status 1 on any mismatch.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gradclip.h"
#include "reference.h"
#include "composed_ops.h"

#ifdef GC_CHECK_CUDA
#include <cuda_runtime.h>
#endif

using namespace gcref;
using gccompose::op_run;

namespace {

int64_t g_checks = 0, g_fail = 0;
#define CHECK(c, ...) do { ++g_checks; if (!(c)) { ++g_fail; if (g_fail <= 30) { std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); std::fprintf(stderr, __VA_ARGS__); std::fprintf(stderr, "\n"); } } } while (0)

std::mt19937_64 g_rng(20261129);

// ---- streams and timers -------------------------------------------------------------------------------
#ifdef GC_CHECK_CUDA
struct Timer {
  cudaEvent_t a, b;
  cudaStream_t s;
  explicit Timer(cudaStream_t st) : s(st) { cudaEventCreate(&a); cudaEventCreate(&b); }
  ~Timer() { cudaEventDestroy(a); cudaEventDestroy(b); }
  void start() { cudaEventRecord(a, s); }
  double stop_ms() { cudaEventRecord(b, s); cudaEventSynchronize(b); float ms = 0; cudaEventElapsedTime(&ms, a, b); return ms; }
};
int64_t new_stream() { cudaStream_t s; cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking); return reinterpret_cast<intptr_t>(s); }
void free_stream(int64_t s) { cudaStreamDestroy(reinterpret_cast<cudaStream_t>(s)); }
std::string device_name() {
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return "unknown";
  return p.name;
}
#else
struct Timer {  // the emulated backend is synchronous: wall time
  std::chrono::steady_clock::time_point t0;
  explicit Timer(void*) {}
  void start() { t0 = std::chrono::steady_clock::now(); }
  double stop_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(); }
};
// the emulated runtime's non-blocking streams (gc_stream_create): the async path and caller streams run
// queued, as on a GPU
int64_t new_stream() { int64_t s = 0; return gc_stream_create(&s) == GC_OK ? s : 0; }
void free_stream(int64_t s) { if (s) gc_stream_destroy(s); }
std::string device_name() { return "emulated"; }
#endif

// ---- device tensors -----------------------------------------------------------------------------------
struct DevTensor {
  int64_t base = 0, addr = 0;  // allocation, element address (misaligned by `misalign` elements)
};
DevTensor upload(const Tensor& t) {
  DevTensor d;
  const int64_t bytes = (t.count + 4) * esize(t.dtype);
  CHECK(gc_device_alloc(bytes, &d.base) == GC_OK, "alloc %" PRId64 ": %s", bytes, gc_last_error());
  d.addr = d.base + static_cast<int64_t>(t.misalign) * esize(t.dtype);
  if (t.count) CHECK(gc_memcpy(d.addr, reinterpret_cast<intptr_t>(t.base()), t.count * esize(t.dtype), GC_COPY_HOST_TO_DEVICE, 0) == GC_OK, "h2d");
  return d;
}
void download(const DevTensor& d, Tensor& t) {
  if (t.count) CHECK(gc_memcpy(reinterpret_cast<intptr_t>(t.base()), d.addr, t.count * esize(t.dtype), GC_COPY_DEVICE_TO_HOST, 0) == GC_OK, "d2h");
}

double gen_value(int dt, double rate) {
  std::uniform_real_distribution<double> U(0.0, 1.0);
  if (U(g_rng) < rate) {
    const double v[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, dt == GC_FLOAT16 ? 60000.0 : 1e30, dt == GC_FLOAT16 ? 3e-7 : 1e-40};
    return v[g_rng() % 7];
  }
  std::normal_distribution<double> N(0.0, 1.0);
  return N(g_rng) * std::pow(10.0, (U(g_rng) - 0.5) * 4);
}
Tensor make(int dt, int64_t n, int misalign, double rate) {
  Tensor t;
  t.dtype = dt; t.count = n; t.misalign = misalign;
  t.alloc();
  for (int64_t i = 0; i < n; ++i) {
    const double v = gen_value(dt, rate);
    t.set(i, v);
    if (std::isnan(v) && (g_rng() & 1)) {  // raw NaN bits: any sign, signalling or quiet, random payload
      const uint64_t r = g_rng();
      t.set_raw(i, dt == GC_FLOAT64 ? (r & 0x800fffffffffffffull) | 0x7ff0000000000001ull
                   : dt == GC_FLOAT32 ? (r & 0x807fffffull) | 0x7f800001ull
                   : dt == GC_FLOAT16 ? (r & 0x83ffull) | 0x7c01ull : (r & 0x807full) | 0x7f81ull);
    }
  }
  return t;
}

bool same_bits(double a, double b) { return dbits(a) == dbits(b); }
bool close_rel(double a, double b) {
  if (same_bits(a, b) || (std::isnan(a) && std::isnan(b))) return true;
  return std::fabs(a - b) <= 1e-12 * std::max(std::fabs(a), std::fabs(b));
}

// One operation on device copies of `in`, compared with the reference. exact: p in {1, 2, inf}.
void check_case(gc_engine* e, int op, const std::vector<Tensor>& in, double a, double b, double p, int sem, int pol, int64_t stream,
                bool async, const char* label) {
  std::vector<Tensor> ref = in, got = in;
  const Out r = ref_run(op, ref, a, b, p, sem, pol);
  const size_t n = in.size();
  std::vector<DevTensor> dev(n);
  std::vector<int64_t> addr(n), cnt(n);
  std::vector<int32_t> dts(n);
  for (size_t k = 0; k < n; ++k) { dev[k] = upload(in[k]); addr[k] = dev[k].addr; cnt[k] = in[k].count; dts[k] = in[k].dtype; }
  std::vector<double> nm(n, -7), sc(n, -7);
  double sm[2] = {-7, -7};
  int64_t c3[3] = {-7, -7, -7};
  int rc;
  if (async) {
    rc = op_run(e, op, addr.data(), cnt.data(), dts.data(), static_cast<int64_t>(n), a, b, p, sem, pol, stream, GC_FLAG_ASYNC, nm.data(), sc.data(), sm, c3);
  } else {
    rc = op_run(e, op, addr.data(), cnt.data(), dts.data(), static_cast<int64_t>(n), a, b, p, sem, pol, stream, 0, nm.data(), sc.data(), sm, c3);
  }
  const bool exact = p == 1.0 || p == 2.0 || std::isinf(p) || op == GC_OP_CLIP_VALUE;
  // reported NaNs are canonical (docs/canonical-reduction.md): the composition's job, done here as Clipper does
  for (auto& x : nm) x = canon(x);
  for (auto& x : sc) x = canon(x);
  sm[0] = canon(sm[0]);
  sm[1] = canon(sm[1]);
  CHECK(rc == r.rc, "[%s] rc %d, expected %d (%s)", label, rc, r.rc, gc_last_error());
  auto cmp = [&](double x, double y) { return exact ? same_bits(x, y) : close_rel(x, y); };
  for (size_t k = 0; k < n; ++k) {
    CHECK(cmp(nm[k], r.norms[k]), "[%s] norm[%zu] %.17g, expected %.17g", label, k, nm[k], r.norms[k]);
    CHECK(cmp(sc[k], r.scales[k]), "[%s] scale[%zu] %.17g, expected %.17g", label, k, sc[k], r.scales[k]);
  }
  CHECK(cmp(sm[0], r.summary[0]) && cmp(sm[1], r.summary[1]), "[%s] summary %.17g %.17g, expected %.17g %.17g", label, sm[0], sm[1], r.summary[0], r.summary[1]);
  for (int j = 0; j < 3; ++j) CHECK(c3[j] == r.counts[j], "[%s] counts[%d] %" PRId64 ", expected %" PRId64, label, j, c3[j], r.counts[j]);
  for (size_t k = 0; k < n; ++k) {
    download(dev[k], got[k]);
    const bool same = std::memcmp(got[k].base(), ref[k].base(), static_cast<size_t>(got[k].count * esize(got[k].dtype))) == 0;
    for (int64_t i = 0; !same && i < got[k].count; ++i) {  // element by element only to name the first difference
      const bool ok = exact ? got[k].raw(i) == ref[k].raw(i)
                            : (got[k].raw(i) == ref[k].raw(i) || std::fabs(got[k].get(i) - ref[k].get(i)) <= 1e-6 * std::fabs(ref[k].get(i)));
      if (!ok) {
        CHECK(false, "[%s] tensor %zu (dtype %d, n %" PRId64 ", misalign %d) element %" PRId64 ": 0x%" PRIx64 ", expected 0x%" PRIx64, label, k,
              got[k].dtype, got[k].count, got[k].misalign, i, got[k].raw(i), ref[k].raw(i));
        break;
      }
    }
    gc_device_free(dev[k].base);
  }
}

void correctness(gc_engine* e, bool quick, int cases) {
  const int64_t sizes[] = {0, 1, 3, 4, 5, 1023, 1025, 4099, 65535, 65536, 65537, 131075, 300001};
  if (cases == 0) return;
  const int64_t s1 = new_stream();
  char label[200];
  for (int c = 0; c < cases; ++c) {
    const int op = c % 5;
    const int nt = 1 + static_cast<int>(g_rng() % 6);
    const double rates[] = {0.0, 0.0, 1e-4, 0.01};
    const double rate = rates[g_rng() % 4];
    std::vector<Tensor> ts;
    for (int k = 0; k < nt; ++k) {
      int64_t sz = sizes[g_rng() % (quick ? 9 : 13)];
      ts.push_back(make(static_cast<int>(g_rng() % 4), sz, static_cast<int>(g_rng() % 4), rate));  // misaligned views: 0..3 elements
    }
    const double ps[] = {2.0, 1.0, INFINITY, 2.0, 3.0};
    const double p = ps[g_rng() % 5];
    const int sem = static_cast<int>(g_rng() % 2), pol = static_cast<int>(g_rng() % 3);
    double a = op == GC_OP_CLIP_VALUE ? -0.3 : std::pow(10.0, static_cast<double>(g_rng() % 5) - 2.0), b = op == GC_OP_CLIP_VALUE ? 0.25 : 0.0;
    const bool async = c % 3 == 1;
    const int64_t stream = c % 2 ? s1 : 0;
    std::snprintf(label, sizeof label, "case %d op %d n %d p %g sem %d pol %d rate %g %s %s", c, op, nt, p, sem, pol, rate,
                  async ? "async" : "sync", stream ? "caller stream" : "stream 0");
    check_case(e, op, ts, a, b, p, sem, pol, stream, async, label);
  }
  free_stream(s1);
  std::printf("correctness: %d random cases (mixed dtypes, misaligned views, raw NaN bits, caller streams, async)\n", cases);
}

void big(gc_engine* e) {
  const int64_t n = (int64_t{1} << 31) + 1025;
  std::printf("big: %" PRId64 " fp16 elements (reference on the host takes a while)\n", n);
  std::fflush(stdout);
  // a 1 Mi-element random block, repeated (drawing 2^31 values would take minutes)
  const Tensor blk = make(GC_FLOAT16, int64_t{1} << 20, 0, 1e-6);
  std::vector<Tensor> ts(1);
  ts[0].dtype = GC_FLOAT16; ts[0].count = n; ts[0].misalign = 1;
  ts[0].alloc();
  for (int64_t off = 0; off < n; off += blk.count)
    std::memcpy(ts[0].base() + off * 2, blk.base(), static_cast<size_t>(std::min(blk.count, n - off)) * 2);
  check_case(e, GC_OP_NORMS, ts, 0, 0, 2.0, 0, 0, 0, false, "2^31+ fp16 norms");
  check_case(e, GC_OP_CLIP_GLOBAL_NORM, ts, 1.0, 0, 2.0, 0, 0, 0, true, "2^31+ fp16 global clip async");
}

// ---- timing -------------------------------------------------------------------------------------------
std::vector<int64_t> read_shapes(const std::string& path) {
  std::ifstream f(path);
  std::vector<int64_t> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    int64_t n = 1;
    std::stringstream ss(line);
    std::string dim;
    while (std::getline(ss, dim, 'x')) n *= std::stoll(dim);
    out.push_back(n);
  }
  return out;
}

struct Timing { std::string set, op, dtype, path; int64_t tensors, elements, bytes; double ms, gbps; };

void timing(gc_engine* e, const std::string& dir, int reps, bool emulated, std::vector<Timing>& out) {
  struct Set { std::string name; std::vector<int64_t> shapes; };
  std::vector<Set> sets = {{"gpt2-small", read_shapes(dir + "/gpt2-small.txt")}, {"one-large-2^28", {int64_t{1} << 28}},
                           {"many-small", read_shapes(dir + "/many-small.txt")},
                           {"one-element", {1}}};  // the fixed cost of a call: launches, folds, read-back
  if (emulated)  // the dry run: the same plan at 1/1000 of the size, at most 300 tensors
    for (auto& s : sets) {
      if (s.shapes.size() > 300) s.shapes.resize(300);
      for (auto& n : s.shapes) n = std::max<int64_t>(1, n / 1000);
    }
  const int64_t stream = new_stream();
  for (const auto& set : sets) {
    for (int dt : {GC_FLOAT32, GC_BFLOAT16}) {
      if (set.shapes.empty()) continue;
      const size_t n = set.shapes.size();
      // The tensors are views into one slab (256-byte aligned, as a framework's caching allocator hands them
      // out), and a second slab keeps the gradients as drawn: every timed call starts from the same fresh
      // gradients, restored by one device-to-device copy outside the timed region (clipping rewrites them).
      std::vector<int64_t> base(n), cnt(set.shapes), off(n);
      std::vector<int32_t> dts(n, dt);
      int64_t elements = 0, slab_bytes = 0;
      for (size_t k = 0; k < n; ++k) {
        off[k] = slab_bytes;
        slab_bytes += (cnt[k] * esize(dt) + 255) / 256 * 256;
        elements += cnt[k];
      }
      int64_t slab = 0, saved = 0;
      CHECK(gc_device_alloc(slab_bytes, &slab) == GC_OK && gc_device_alloc(slab_bytes, &saved) == GC_OK, "alloc for timing: %s", gc_last_error());
      if (!slab || !saved) { gc_device_free(slab); gc_device_free(saved); continue; }
      {
        Tensor t = make(dt, 1 << 16, 0, 0.0);  // a 65,536-element random pattern (never zeros), repeated
        const int64_t pat = t.count * esize(dt);
        for (int64_t o = 0; o < slab_bytes; o += pat)
          gc_memcpy(saved + o, reinterpret_cast<intptr_t>(t.base()), std::min(pat, slab_bytes - o), GC_COPY_HOST_TO_DEVICE, 0);
      }
      for (size_t k = 0; k < n; ++k) base[k] = slab + off[k];
      const int64_t bytes = elements * esize(dt);
      struct OpCase { const char* name; int op; double a, b; int flags; };
      const OpCase ops[] = {{"global-norm-clipping", GC_OP_CLIP_GLOBAL_NORM, 1e-3, 0, 0},
                            {"global-norm-not-clipping", GC_OP_CLIP_GLOBAL_NORM, 1e30, 0, 0},
                            {"global-norm-clipping-async", GC_OP_CLIP_GLOBAL_NORM, 1e-3, 0, GC_FLAG_ASYNC},
                            {"norms", GC_OP_NORMS, 0, 0, 0},
                            {"value-clipping", GC_OP_CLIP_VALUE, -1e-3, 1e-3, 0}};
      const gc_tensor_table table{base.data(), cnt.data(), dts.data(), static_cast<int64_t>(n)};
      int64_t nchunks = 0;
      gc_chunk_count(&table, &nchunks);
      std::vector<double> chunk(static_cast<size_t>(nchunks) + 1), sums(n), mx(n);
      for (const auto& oc : ops) {
        std::vector<double> ms;
        for (int r = 0; r < reps + 2; ++r) {
#ifdef GC_CHECK_CUDA
          Timer t(reinterpret_cast<cudaStream_t>(stream));
#else
          Timer t(nullptr);
#endif
          CHECK(gc_memcpy(slab, saved, slab_bytes, GC_COPY_DEVICE_TO_DEVICE, stream) == GC_OK, "restore: %s", gc_last_error());  // untimed
          t.start();
          int rc = GC_OK;
          gc_global_clip_result gr{};
          if (oc.op == GC_OP_CLIP_GLOBAL_NORM) {  // the fused device path (scale and policy on the device)
            rc = gc_clip_global_norm(e, &table, GC_NORM_L2, oc.a, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, stream, oc.flags, &gr);
          } else if (oc.op == GC_OP_NORMS) {
            gc_norms_result nr{chunk.data(), sums.data(), mx.data(), 0};
            rc = gc_norms(e, &table, GC_NORM_L2, 2.0, stream, &nr);
          } else {
            gc_clamp_result cr{};
            rc = gc_clamp(e, &table, oc.a, oc.b, stream, &cr);
          }
          const double m = t.stop_ms();  // event after the enqueue (async) or after the synchronous return
          if (oc.flags && rc == GC_OK) rc = gc_clip_global_norm_wait(e, &gr);
          CHECK(rc == GC_OK, "timing %s: %s", oc.name, gc_last_error());
          if (r >= 2) ms.push_back(m);  // two warm-up runs
        }
        std::sort(ms.begin(), ms.end());
        const double med = ms[ms.size() / 2];
        // the fewest bytes each op must move (DESIGN): norms read once; a clamp reads and writes; a global clip
        // that scales reads twice (norms, then scale) and writes once, and one that does not scale reads once
        const double traffic = (oc.op == GC_OP_NORMS ? 1.0 : oc.op == GC_OP_CLIP_VALUE ? 2.0 : oc.a < 1 ? 3.0 : 1.0) * static_cast<double>(bytes);
        out.push_back({set.name, oc.name, dt == GC_FLOAT32 ? "fp32" : "bf16", oc.flags ? "async" : "sync", static_cast<int64_t>(n), elements,
                       bytes, med, traffic / (med * 1e6)});
      }
      // device-to-device copy of the same bytes (one buffer), the bandwidth reference
      {
        int64_t src = 0, dst = 0;
        gc_device_alloc(bytes, &src);
        gc_device_alloc(bytes, &dst);
        std::vector<double> ms;
        for (int r = 0; r < reps + 2; ++r) {
#ifdef GC_CHECK_CUDA
          Timer t(reinterpret_cast<cudaStream_t>(stream));
          t.start();
          cudaMemcpyAsync(reinterpret_cast<void*>(dst), reinterpret_cast<void*>(src), static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice,
                          reinterpret_cast<cudaStream_t>(stream));
#else
          Timer t(nullptr);
          t.start();
          gc_memcpy(dst, src, bytes, GC_COPY_DEVICE_TO_DEVICE, 0);
#endif
          const double m = t.stop_ms();
          if (r >= 2) ms.push_back(m);
        }
        std::sort(ms.begin(), ms.end());
        out.push_back({set.name, "d2d-copy", dt == GC_FLOAT32 ? "fp32" : "bf16", "copy", 1, elements, bytes, ms[ms.size() / 2],
                       2.0 * bytes / (ms[ms.size() / 2] * 1e6)});
        gc_device_free(src);
        gc_device_free(dst);
      }
      gc_device_free(slab);
      gc_device_free(saved);
    }
  }
  free_stream(stream);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, do_big = false;
  std::string shapes, json;
  int reps = 20, cases = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--big") do_big = true;
    else if (a == "--time" && i + 1 < argc) shapes = argv[++i];
    else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--cases" && i + 1 < argc) cases = std::atoi(argv[++i]);
    else if (a == "--json" && i + 1 < argc) json = argv[++i];
    else { std::fprintf(stderr, "usage: gc_check [--quick] [--cases N] [--big] [--time SHAPES_DIR] [--reps N] [--json FILE]\n"); return 2; }
  }
  int32_t devs = 0, cerr = 0;
  const int prc = gc_probe(&devs, &cerr);
  std::printf("gc_check: backend %s, device %s, probe %d (%s)\n", gc_backend_name(), device_name().c_str(), prc, prc ? gc_last_error() : "ok");
  if (prc != GC_OK) return 1;
  gc_engine* e = nullptr;
  if (gc_engine_create(&e) != GC_OK) return 1;
  correctness(e, quick, cases >= 0 ? cases : quick ? 40 : 400);
  if (do_big) big(e);
  std::vector<Timing> t;
  if (!shapes.empty()) timing(e, shapes, reps, std::strcmp(gc_backend_name(), "emulated") == 0, t);
  gc_engine_destroy(e);
  for (const auto& x : t)
    std::printf("  %-16s %-28s %-5s %-5s %6" PRId64 " tensors %11" PRId64 " elements  %9.3f ms  %8.1f GB/s\n", x.set.c_str(), x.op.c_str(),
                x.dtype.c_str(), x.path.c_str(), x.tensors, x.elements, x.ms, x.gbps);
  if (!json.empty()) {
    std::FILE* f = std::fopen(json.c_str(), "w");
    if (f) {
      std::fprintf(f, "{\"backend\": \"%s\", \"device\": \"%s\", \"checks\": %" PRId64 ", \"failures\": %" PRId64 ", \"timings\": [", gc_backend_name(),
                   device_name().c_str(), g_checks, g_fail);
      for (size_t i = 0; i < t.size(); ++i)
        std::fprintf(f, "%s\n  {\"set\": \"%s\", \"op\": \"%s\", \"dtype\": \"%s\", \"path\": \"%s\", \"tensors\": %" PRId64 ", \"elements\": %" PRId64
                     ", \"bytes\": %" PRId64 ", \"ms\": %.6f, \"gbps\": %.3f}", i ? "," : "", t[i].set.c_str(), t[i].op.c_str(), t[i].dtype.c_str(),
                     t[i].path.c_str(), t[i].tensors, t[i].elements, t[i].bytes, t[i].ms, t[i].gbps);
      std::fprintf(f, "\n]}\n");
      std::fclose(f);
    }
  }
  std::printf("gc_check: %" PRId64 " checks, %" PRId64 " failures\n", g_checks, g_fail);
  return g_fail ? 1 : 0;
}
