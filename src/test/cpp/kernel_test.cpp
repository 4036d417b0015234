// kernel_test.cpp - the launch plans called directly (no C API), against the emulation layer: the
// per-tensor scale pass (launch_scale: scales given by the host, as the per-pass C API's gc_scale uses
// it) with the NaN rule for finite scales too, bit for bit against the C++ reference, and the chunk
// partials / tensor sums / max|x| that launch_norms leaves in the workspace (NormPartials).
#include <cinttypes>
#include <cstdio>
#include <random>
#include <vector>

#include "gc_launch.h"
#include "reference.h"

using namespace gcref;

namespace {
int g_fail = 0, g_checks = 0;
#define CHECK(c, ...) do { ++g_checks; if (!(c)) { ++g_fail; if (g_fail < 30) { std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); std::fprintf(stderr, __VA_ARGS__); std::fprintf(stderr, "\n"); } } } while (0)
std::mt19937_64 rng(7);

Tensor make(int dt, int64_t n, int mis) {
  Tensor t;
  t.dtype = dt; t.count = n; t.misalign = mis;
  t.alloc();
  std::normal_distribution<double> N(0, 1);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t k = rng() % 50;
    if (k == 0) {  // raw NaN bits
      const uint64_t r = rng();
      t.set_raw(i, dt == GC_FLOAT64 ? (r & 0x800fffffffffffffull) | 0x7ff0000000000001ull : dt == GC_FLOAT32 ? (r & 0x807fffffull) | 0x7f800001ull
                   : dt == GC_FLOAT16 ? (r & 0x83ffull) | 0x7c01ull : (r & 0x807full) | 0x7f81ull);
    } else if (k == 1) {
      t.set(i, (rng() & 1) ? INFINITY : -INFINITY);
    } else {
      t.set(i, N(rng) * 10);
    }
  }
  return t;
}

struct Workspace {
  std::vector<char> tables, slots, result;
  gc::GcParams P{};
  gc::GcDev D{};
  Workspace(std::vector<Tensor>& ts, int op, double p) {
    const int64_t n = static_cast<int64_t>(ts.size());
    std::vector<int64_t> addr, cnt;
    std::vector<int32_t> dts;
    int64_t nchunks = 0;
    for (auto& t : ts) {
      addr.push_back(reinterpret_cast<intptr_t>(t.base())); cnt.push_back(t.count); dts.push_back(t.dtype);
      nchunks += (t.count + gc::kChunk - 1) / gc::kChunk;
    }
    const gc::GcSizes sz = gc::workspace_sizes(n, nchunks);
    tables.assign(sz.tables + 64, 0); slots.assign(sz.slots + 64, 0); result.assign(sz.result + 64, 0);
    P.n = n; P.nchunks = nchunks; P.op = op; P.p = p;
    P.pkind = p == 1.0 ? gc::PK_1 : p == 2.0 ? gc::PK_2 : std::isinf(p) ? gc::PK_INF : gc::PK_GEN;
    gc::fill_tables(addr.data(), cnt.data(), dts.data(), n, tables.data(), P);
    D = gc::bind_workspace(tables.data(), slots.data(), result.data(), n, nchunks);
  }
  double* scales() { return reinterpret_cast<double*>(result.data() + gc::kResNorms) + P.n; }
};
}  // namespace

int main() {
  // 1. launch_scale with host-given per-tensor scales: finite, 1 (not written), NaN, 0, tiny (wide path)
  const double kScales[] = {0.5, 1.0, NAN, 0.0, 1e-45, 3.0, -2.0, 1.0000001};
  for (int c = 0; c < 60; ++c) {
    std::vector<Tensor> ts;
    const int nt = 1 + static_cast<int>(rng() % 7);
    for (int k = 0; k < nt; ++k) ts.push_back(make(static_cast<int>(rng() % 4), static_cast<int64_t>(rng() % 140000), static_cast<int>(rng() % 4)));
    std::vector<Tensor> ref = ts;
    Workspace w(ts, GC_OP_CLIP_NORM, 2.0);
    std::vector<double> sc(static_cast<size_t>(nt));
    for (auto& s : sc) s = kScales[rng() % 8];
    for (int k = 0; k < nt; ++k) w.scales()[k] = sc[static_cast<size_t>(k)];
    CHECK(gc::launch_scale(w.P, w.D, 8, nullptr) == cudaSuccess, "launch_scale");
    for (int k = 0; k < nt; ++k) {
      if (ref_applied(sc[static_cast<size_t>(k)], ref[static_cast<size_t>(k)].dtype) != 1.0) ref_scale_tensor(ref[static_cast<size_t>(k)], sc[static_cast<size_t>(k)]);
      const Tensor &x = ts[static_cast<size_t>(k)], &y = ref[static_cast<size_t>(k)];
      for (int64_t i = 0; i < x.count; ++i)
        if (x.raw(i) != y.raw(i)) {
          CHECK(false, "case %d tensor %d (dtype %d, scale %g) element %" PRId64 ": 0x%" PRIx64 ", expected 0x%" PRIx64, c, k, x.dtype,
                sc[static_cast<size_t>(k)], i, x.raw(i), y.raw(i));
          break;
        }
    }
  }
  // 2. launch_norms leaves the canonical partials in the workspace: chunk partials, tensor sums, max|x|
  for (double p : {2.0, 1.0, static_cast<double>(INFINITY), 3.0}) {
    std::vector<Tensor> ts{make(GC_FLOAT32, 200000, 1), make(GC_BFLOAT16, 70000, 0), make(GC_FLOAT64, 5, 0)};
    for (auto& t : ts)  // finite data here
      for (int64_t i = 0; i < t.count; ++i) if (!std::isfinite(t.get(i))) t.set(i, 0.25);
    Workspace w(ts, GC_OP_NORMS, p);
    CHECK(gc::launch_norms(w.P, w.D, 8, nullptr) == cudaSuccess, "launch_norms");
    int64_t slot = 0;
    for (size_t k = 0; k < ts.size(); ++k) {
      const Tensor& t = ts[k];
      const bool gen = p == 3.0;
      double m = 0;
      if (gen) {  // max|x| first
        Lanes tl(true);
        int64_t c = 0;
        for (int64_t s0 = 0; s0 < t.count; s0 += 65536, ++c) {
          Lanes cl(true);
          for (int64_t i = s0; i < std::min<int64_t>(s0 + 65536, t.count); ++i) cl.add(i - s0, std::fabs(t.get(i)));
          tl.add(c, cl.fold());
        }
        m = tl.fold();
        CHECK(dbits(w.D.tmax[k]) == dbits(m), "p %g tensor %zu max|x| %.17g, expected %.17g", p, k, w.D.tmax[k], m);
      }
      Lanes tl(std::isinf(p));
      int64_t c = 0;
      for (int64_t s0 = 0; s0 < t.count; s0 += 65536, ++c, ++slot) {
        Lanes cl(std::isinf(p));
        for (int64_t i = s0; i < std::min<int64_t>(s0 + 65536, t.count); ++i)
          cl.add(i - s0, gen ? std::pow(std::fabs(t.get(i)) / m, p) : ref_term(t.get(i), p));
        const double part = cl.fold();
        CHECK(dbits(w.D.partial[slot]) == dbits(part), "p %g chunk %" PRId64 " partial %.17g, expected %.17g", p, slot, w.D.partial[slot], part);
        tl.add(c, part);
      }
      CHECK(dbits(w.D.tsum[k]) == dbits(tl.fold()), "p %g tensor %zu sum %.17g, expected %.17g", p, k, w.D.tsum[k], tl.fold());
    }
  }
  std::printf("kernel_test: %d checks, %d failures\n", g_checks, g_fail);
  return g_fail ? 1 : 0;
}
