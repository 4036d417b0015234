// harness.cpp - randomized bitwise checks of the emulated kernels (through the per-pass entry points of
// gradclip.h, composed into operations as the Java Clipper composes them, and the fused global-norm
// clip) against the plain C++ reference implementation of docs/canonical-reduction.md in reference.h
// ("the CPU reference next to the kernel"); the composition itself is composed_ops.h, shared with the
// GPU check driver (scripts/gpu/gc_check.cpp).
//
// Environment: GC_TEST_SEED (default 20261124), GC_TEST_QUICK=1 (skips the 67M-element case and
// shortens the loops), GC_TEST_LEAK_ITERS (default 100000).
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include <chrono>

#include "composed_ops.h"
#include "gradclip.h"
#include "reference.h"

// the device conversions, to test them directly (host build of the same code)
#define GC_EMULATED 1
#include "gc_numeric.cuh"

using namespace gcref;
using gccompose::op_run;

namespace {

// ====================================================================================================
// Checking
// ====================================================================================================
int64_t g_checks = 0, g_failures = 0;

#define CHECK(cond, ...)                                  \
  do {                                                    \
    ++g_checks;                                           \
    if (!(cond)) {                                        \
      ++g_failures;                                       \
      if (g_failures <= 40) {                             \
        std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        std::fprintf(stderr, __VA_ARGS__);                \
        std::fprintf(stderr, "\n");                       \
      }                                                   \
    }                                                     \
  } while (0)

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || dbits(a) == dbits(b); }
int64_t ulps(double a, double b) {
  if (same(a, b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<int64_t>::max();
  auto key = [](double d) { int64_t i; std::memcpy(&i, &d, 8); return i < 0 ? std::numeric_limits<int64_t>::min() - i : i; };
  const int64_t d = key(a) - key(b);
  return d < 0 ? -d : d;
}
bool close(double a, double b, bool exact) { return exact ? same(a, b) : ulps(a, b) <= 16; }

std::mt19937_64 g_rng;

double gen_value(int dt, double special_rate) {
  std::uniform_real_distribution<double> U(0.0, 1.0);
  if (U(g_rng) < special_rate) {
    const int k = static_cast<int>(U(g_rng) * 9);
    const double huge = dt == GC_FLOAT64 ? 1e300 : dt == GC_FLOAT16 ? 60000.0 : 3e38;
    const double sub = dt == GC_FLOAT64 ? 4e-320 : dt == GC_FLOAT32 ? 3e-42 : dt == GC_FLOAT16 ? 3e-7 : 5e-40;
    switch (k) {
      case 0: return std::numeric_limits<double>::quiet_NaN();
      case 1: return std::numeric_limits<double>::infinity();
      case 2: return -std::numeric_limits<double>::infinity();
      case 3: return huge * (U(g_rng) - 0.5) * 2;
      case 4: return sub * (U(g_rng) - 0.5) * 2;
      case 5: return -0.0;
      case 6: return 0.0;
      case 7: return -std::numeric_limits<double>::quiet_NaN();
      default: return 1.0;
    }
  }
  std::normal_distribution<double> N(0.0, 1.0);
  return N(g_rng) * std::pow(10.0, (U(g_rng) - 0.5) * 4);
}

Tensor make_tensor(int dt, int64_t count, int misalign, double special_rate) {
  Tensor t;
  t.dtype = dt;
  t.count = count;
  t.misalign = misalign;
  t.alloc();
  for (int64_t i = 0; i < count; ++i) t.set(i, gen_value(dt, special_rate));
  return t;
}

bool run_and_compare(gc_engine* e, int op, const std::vector<Tensor>& in, double a, double b, double p, int sem, int pol,
                     const char* label, bool async = false) {
  std::vector<Tensor> mine = in, ref = in;
  const Out r = ref_run(op, ref, a, b, p, sem, pol);
  const size_t n = mine.size();
  std::vector<int64_t> addr(n), cnt(n);
  std::vector<int32_t> dts(n);
  for (size_t k = 0; k < n; ++k) {
    addr[k] = static_cast<int64_t>(reinterpret_cast<intptr_t>(mine[k].base()));
    cnt[k] = mine[k].count;
    dts[k] = mine[k].dtype;
  }
  Out o;
  o.norms.assign(n, -7.0);
  o.scales.assign(n, -7.0);
  o.rc = op_run(e, op, addr.data(), cnt.data(), dts.data(), static_cast<int64_t>(n), a, b, p, sem, pol, 0, async ? GC_FLAG_ASYNC : 0,
                o.norms.data(), o.scales.data(), o.summary, o.counts);
  const bool exact = p == 1.0 || p == 2.0 || std::isinf(p) || op == GC_OP_CLIP_VALUE;
  const int64_t before = g_failures;
  CHECK(o.rc == r.rc, "[%s] rc %d, expected %d (%s)", label, o.rc, r.rc, gc_last_error());
  for (size_t k = 0; k < n; ++k) {
    CHECK(close(o.norms[k], r.norms[k], exact), "[%s] norm[%zu] %.17g, expected %.17g", label, k, o.norms[k], r.norms[k]);
    CHECK(close(o.scales[k], r.scales[k], exact), "[%s] scale[%zu] %.17g, expected %.17g", label, k, o.scales[k], r.scales[k]);
  }
  CHECK(close(o.summary[0], r.summary[0], exact), "[%s] total %.17g, expected %.17g", label, o.summary[0], r.summary[0]);
  CHECK(close(o.summary[1], r.summary[1], exact), "[%s] scale %.17g, expected %.17g", label, o.summary[1], r.summary[1]);
  for (int j = 0; j < 3; ++j)
    CHECK(o.counts[j] == r.counts[j], "[%s] counts[%d] %" PRId64 ", expected %" PRId64, label, j, o.counts[j], r.counts[j]);
  for (size_t k = 0; k < n && g_failures == before; ++k) {
    const Tensor &x = mine[k], &y = ref[k];
    for (int64_t i = 0; i < x.count; ++i) {
      const bool ok = x.raw(i) == y.raw(i) ||
                      (!exact && std::fabs(x.get(i) - y.get(i)) <= 1e-3 * std::fabs(y.get(i)));
      if (!ok) {
        CHECK(false, "[%s] tensor %zu (dtype %d, n %" PRId64 ", misalign %d) element %" PRId64 ": %.17g (0x%" PRIx64 "), expected %.17g (0x%" PRIx64 ")",
              label, k, x.dtype, x.count, x.misalign, i, x.get(i), x.raw(i), y.get(i), y.raw(i));
        break;
      }
    }
    // the guard element after the tensor must be untouched
    ++g_checks;
  }
  return g_failures == before;
}

const char* kOpNames[] = {"clip_value", "norms", "clip_norm", "clip_global_norm", "renormalize"};
const char* kDtNames[] = {"f32", "f64", "f16", "bf16"};

double rand_p(std::mt19937_64& r) {
  static const double ps[] = {1.0, 2.0, std::numeric_limits<double>::infinity()};
  return ps[r() % 3];
}

// ====================================================================================================
// Test groups
// ====================================================================================================
void test_conversions() {
  // binary16 -> fp32: exhaustive
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = gc::f16_to_f32(static_cast<uint16_t>(h));
    const double r = ref_from_small(static_cast<uint16_t>(h), 5, 10);
    CHECK(same(static_cast<double>(f), r), "f16_to_f32(0x%04x) = %.9g, expected %.9g", h, f, r);
    const float g = gc::bf16_to_f32(static_cast<uint16_t>(h));
    const double rb = ref_from_small(static_cast<uint16_t>(h), 8, 7);
    CHECK(same(static_cast<double>(g), rb), "bf16_to_f32(0x%04x)", h);
    // round trips of every finite value are exact
    if (!std::isnan(r)) CHECK(gc::f32_to_f16(f) == h, "f32_to_f16(f16_to_f32(0x%04x))", h);
    if (!std::isnan(rb)) CHECK(gc::f32_to_bf16(g) == h, "f32_to_bf16(bf16_to_f32(0x%04x))", h);
  }
  // fp32 -> binary16 / bf16: a strided sweep of all floats, every tie and neighbour, and random bits
  auto one = [](uint32_t u) {
    const float f = fromfbits(u);
    const uint16_t h = gc::f32_to_f16(f), hr = ref_to_small(static_cast<double>(f), 5, 10);
    const uint16_t b = gc::f32_to_bf16(f), br = ref_to_small(static_cast<double>(f), 8, 7);
    if (std::isnan(f)) {
      CHECK(std::isnan(ref_from_small(h, 5, 10)) && std::isnan(ref_from_small(b, 8, 7)), "NaN 0x%08x", u);
    } else {
      CHECK(h == hr, "f32_to_f16(0x%08x = %.9g) = 0x%04x, expected 0x%04x", u, f, h, hr);
      CHECK(b == br, "f32_to_bf16(0x%08x = %.9g) = 0x%04x, expected 0x%04x", u, f, b, br);
    }
  };
  for (uint64_t u = 0; u < (1ull << 32); u += 4099) one(static_cast<uint32_t>(u));
  for (uint32_t h = 0; h < 65536; ++h) {  // ties and their neighbours for binary16 (13 dropped bits) and bf16 (16)
    const uint32_t base = fbits(gc::f16_to_f32(static_cast<uint16_t>(h)));
    for (int d = -2; d <= 2; ++d) { one(base + 0x1000u + static_cast<uint32_t>(d)); one(base + static_cast<uint32_t>(d)); }
    const uint32_t bb = static_cast<uint32_t>(h) << 16;
    for (int d = -2; d <= 2; ++d) one(bb + 0x8000u + static_cast<uint32_t>(d));
  }
  for (int i = 0; i < 1000000; ++i) one(static_cast<uint32_t>(g_rng()));
  for (uint32_t e = 95; e <= 115; ++e)  // the binary16 subnormal range, densely
    for (uint32_t m = 0; m < (1u << 23); m += 97) one((e << 23) | m);
}

// The three numerics rules of docs/canonical-reduction.md, with explicit bits.
void test_rules(gc_engine* e) {
  auto run1 = [&](int op, int dt, void* data, int64_t count, double a, double p, int sem, int pol, double* sm, int64_t* c3) {
    int64_t addr = reinterpret_cast<intptr_t>(data), cnt = count;
    int32_t d = dt;
    return op_run(e, op, &addr, &cnt, &d, 1, a, 0.0, p, sem, pol, 0, 0, nullptr, nullptr, sm, c3);
  };
  double sm[2];
  int64_t c3[3];
  // NaN rule 1: a NaN element keeps sign and payload, quieted; rule 2: every other element whose product
  // is NaN (here the scale itself is NaN, as the NaN elements make the norm NaN) is the canonical NaN
  {
    uint32_t f[6] = {0x7f800001u, 0xffa00000u, 0x7fc12345u, fbits(40.0f), fbits(-30.0f), 0x7f800000u};
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT32, f, 6, 1.0, 2.0, GC_SEMANTICS_TORCH, 0, sm, c3) == GC_OK, "nan rule run");
    CHECK(f[0] == 0x7fc00001u && f[1] == 0xffe00000u && f[2] == 0x7fc12345u, "NaN rule 1 (fp32): %08x %08x %08x", f[0], f[1], f[2]);
    CHECK(f[3] == 0x7fc00000u && f[4] == 0x7fc00000u && f[5] == 0x7fc00000u, "NaN rule 2 (fp32): %08x %08x %08x", f[3], f[4], f[5]);
    // no NaN, an inf: norm inf, TORCH scale 0: finite * 0 = signed zero, inf * 0 = canonical NaN
    uint32_t g[3] = {fbits(40.0f), fbits(-30.0f), 0xff800000u};
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT32, g, 3, 1.0, 2.0, GC_SEMANTICS_TORCH, 0, sm, c3) == GC_OK, "inf run");
    CHECK(g[0] == 0u && g[1] == 0x80000000u && g[2] == 0x7fc00000u, "inf * 0 (fp32): %08x %08x %08x", g[0], g[1], g[2]);
  }
  {
    uint16_t h[4] = {0x7c01u, 0xfd55u, 0x7c00u, 0x3c00u};  // sNaN, -qNaN with payload, inf, 1.0
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT16, h, 4, 1.0, 2.0, GC_SEMANTICS_TORCH, 0, sm, c3) == GC_OK, "nan rule f16");
    CHECK(h[0] == 0x7e01u && h[1] == 0xff55u && h[2] == 0x7e00u && h[3] == 0x7e00u, "NaN rule fp16: %04x %04x %04x %04x", h[0], h[1], h[2], h[3]);
    uint16_t hi[3] = {0xfc00u, 0x3c00u, 0xbc00u};  // -inf, 1, -1: scale 0
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT16, hi, 3, 1.0, 2.0, GC_SEMANTICS_TORCH, 0, sm, c3) == GC_OK, "inf f16");
    CHECK(hi[0] == 0x7e00u && hi[1] == 0x0000u && hi[2] == 0x8000u, "inf * 0 (fp16): %04x %04x %04x", hi[0], hi[1], hi[2]);
    uint16_t b[3] = {0xff81u, 0x7f80u, 0x3f80u};
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_BFLOAT16, b, 3, 1.0, 2.0, GC_SEMANTICS_TORCH, 0, sm, c3) == GC_OK, "nan rule bf16");
    CHECK(b[0] == 0xffc1u && b[1] == 0x7fc0u && b[2] == 0x7fc0u, "NaN rule bf16: %04x %04x %04x", b[0], b[1], b[2]);
    uint64_t d[3] = {0xfff0000000000001ull, 0x7ff0000000000000ull, dbits(2.0)};
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT64, d, 3, 1.0, 2.0, GC_SEMANTICS_TORCH, 0, sm, c3) == GC_OK, "nan rule f64");
    CHECK(d[0] == 0xfff8000000000001ull && d[1] == 0x7ff8000000000000ull && d[2] == 0x7ff8000000000000ull, "NaN rule fp64: %016llx %016llx %016llx",
          static_cast<unsigned long long>(d[0]), static_cast<unsigned long long>(d[1]), static_cast<unsigned long long>(d[2]));
    // a NaN scale (TF, non-finite norm) with PROPAGATE: finite elements become the canonical NaN
    float g[2] = {1.0f, fromfbits(0xff800000u)};
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT32, g, 2, 1.0, 2.0, GC_SEMANTICS_TF, 0, sm, c3) == GC_OK, "tf nan scale");
    CHECK(fbits(g[0]) == 0x7fc00000u && fbits(g[1]) == 0x7fc00000u, "NaN scale: %08x %08x", fbits(g[0]), fbits(g[1]));
  }
  // General p never overflows for finite data: torch gives 3 for [3, -2, 1] with a huge p
  {
    float f[3] = {3.0f, -2.0f, 1.0f};
    CHECK(run1(GC_OP_NORMS, GC_FLOAT32, f, 3, 0.0, 1e308, 0, 0, sm, c3) == GC_OK && sm[0] == 3.0, "p = 1e308: %.17g", sm[0]);
    float g[2] = {1e30f, -2e30f};
    CHECK(run1(GC_OP_NORMS, GC_FLOAT32, g, 2, 0.0, 20.0, 0, 0, sm, c3) == GC_OK, "p = 20");
    const double want = static_cast<double>(2e30f) * std::pow(1.0 + std::pow(static_cast<double>(1e30f) / static_cast<double>(2e30f), 20.0), 1.0 / 20.0);
    CHECK(std::isfinite(sm[0]) && std::fabs(sm[0] - want) <= 1e-12 * want, "p = 20, |x| ~ 1e30: %.17g, expected ~%.17g", sm[0], want);
    // clip with it: finite scale, data not zeroed
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT32, g, 2, 1.0, 20.0, GC_SEMANTICS_TORCH, GC_NONFINITE_ERROR, sm, c3) == GC_OK, "clip p = 20");
    CHECK(g[0] != 0.0f && std::fabs(g[1]) < 1.01f, "clip p = 20 scaled: %g %g", g[0], g[1]);
    // zero / NaN / inf tensors: the norm is m_t itself
    float z[3] = {0.0f, -0.0f, 0.0f};
    CHECK(run1(GC_OP_NORMS, GC_FLOAT32, z, 3, 0.0, 3.0, 0, 0, sm, c3) == GC_OK && dbits(sm[0]) == 0, "p = 3, zeros: %g", sm[0]);
    float i2[2] = {1.0f, fromfbits(0x7f800000u)};
    CHECK(run1(GC_OP_NORMS, GC_FLOAT32, i2, 2, 0.0, 3.0, 0, 0, sm, c3) == GC_OK && std::isinf(sm[0]) && c3[1] == 1, "p = 3, inf: %g", sm[0]);
  }
  // TF, max norm 0, norm 0: scale 1, nothing written, no trigger under ERROR
  {
    float z[4] = {0.0f, -0.0f, 0.0f, 0.0f};
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT32, z, 4, 0.0, 2.0, GC_SEMANTICS_TF, GC_NONFINITE_ERROR, sm, c3) == GC_OK, "tf 0/0: %s", gc_last_error());
    CHECK(sm[0] == 0.0 && sm[1] == 1.0 && c3[0] == 0 && fbits(z[1]) == 0x80000000u, "tf 0/0: scale %g, clipped %lld", sm[1], static_cast<long long>(c3[0]));
    CHECK(run1(GC_OP_CLIP_NORM, GC_FLOAT32, z, 4, 0.0, 2.0, GC_SEMANTICS_TF, GC_NONFINITE_ERROR, sm, c3) == GC_OK && sm[1] == 1.0, "tf per tensor 0/0");
    float one[1] = {2.0f};
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT32, one, 1, 0.0, 2.0, GC_SEMANTICS_TF, GC_NONFINITE_ERROR, sm, c3) == GC_OK && sm[1] == 0.0 && one[0] == 0.0f,
          "tf max 0, norm 2: scale %g", sm[1]);
    // a NaN scale follows the policy: TF with an inf norm under SKIP writes nothing
    float g[2] = {1.0f, fromfbits(0x7f800000u)};
    CHECK(run1(GC_OP_CLIP_GLOBAL_NORM, GC_FLOAT32, g, 2, 1.0, 2.0, GC_SEMANTICS_TF, GC_NONFINITE_SKIP, sm, c3) == GC_OK && c3[2] == 1 && g[0] == 1.0f,
          "tf NaN scale under SKIP");
  }
}

// Device-cached tables: a repeated table is not uploaded again, a changed one (same sizes, other
// addresses or dtypes) must be.
void test_table_cache(gc_engine* e) {
  std::vector<Tensor> a{make_tensor(GC_FLOAT32, 70000, 0, 0.0), make_tensor(GC_FLOAT16, 300, 1, 0.0)};
  std::vector<Tensor> b{make_tensor(GC_FLOAT32, 70000, 0, 0.0), make_tensor(GC_FLOAT16, 300, 1, 0.0)};
  std::vector<Tensor> c = b;
  c[1].dtype = GC_BFLOAT16;  // same bytes, another dtype
  auto norms_of = [&](std::vector<Tensor>& ts, double* nm) {  // the same buffers every time
    int64_t addr[2], cnt[2];
    int32_t dts[2];
    for (int k = 0; k < 2; ++k) { addr[k] = reinterpret_cast<intptr_t>(ts[k].base()); cnt[k] = ts[k].count; dts[k] = ts[k].dtype; }
    double sm[2];
    int64_t c3[3];
    return op_run(e, GC_OP_NORMS, addr, cnt, dts, 2, 0, 0, 2.0, 0, 0, 0, 0, nm, nullptr, sm, c3);
  };
  for (auto* ts : {&a, &b, &c}) {
    std::vector<Tensor> copy = *ts;
    const Out r = ref_run(GC_OP_NORMS, copy, 0, 0, 2.0, 0, 0);
    for (int rep = 0; rep < 2; ++rep) {  // the second call reuses the table on the device
      double nm[2] = {-1, -1};
      CHECK(norms_of(*ts, nm) == GC_OK, "table cache run");
      CHECK(same(nm[0], r.norms[0]) && same(nm[1], r.norms[1]), "table cache: norms %.17g %.17g, expected %.17g %.17g", nm[0], nm[1],
            r.norms[0], r.norms[1]);
    }
  }
}

void test_single_sweep(gc_engine* e, bool quick) {
  const int64_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 13, 31, 1023, 1024, 1025, 4099, 65535, 65536, 65537, 131075, 200003};
  char label[160];
  int cases = 0;
  for (int op = 0; op <= 4; ++op)
    for (int dt = 0; dt < 4; ++dt)
      for (int64_t sz : sizes) {
        if (quick && sz > 70000 && (op + dt) % 3 != 0) continue;
        for (int pi = 0; pi < 3; ++pi) {
          if (op == GC_OP_CLIP_VALUE && pi > 0) break;
          const double p = pi == 0 ? 2.0 : pi == 1 ? 1.0 : std::numeric_limits<double>::infinity();
          const int mis = static_cast<int>(g_rng() % 2);
          std::vector<Tensor> ts{make_tensor(dt, sz, mis, (cases % 3 == 0) ? 0.0 : 0.001)};
          const int sem = static_cast<int>(g_rng() % 2);
          double a = std::pow(10.0, static_cast<double>(g_rng() % 5) - 1.0), b = 0;
          if (op == GC_OP_CLIP_VALUE) { b = a; a = -a * 0.7; }
          std::snprintf(label, sizeof label, "sweep %s %s n=%" PRId64 " p=%g mis=%d sem=%d", kOpNames[op], kDtNames[dt], sz, p, mis, sem);
          run_and_compare(e, op, ts, a, b, p, sem, GC_NONFINITE_PROPAGATE, label);
          ++cases;
        }
      }
  std::printf("  sweep: %d cases\n", cases);
}

void test_random_sets(gc_engine* e, int ncases) {
  const int64_t sizes[] = {0, 1, 3, 5, 17, 1023, 1024, 1025, 65535, 65536, 65537, 70001, 2049, 127, 4096};
  char label[200];
  std::uniform_real_distribution<double> U(0.0, 1.0);
  for (int c = 0; c < ncases; ++c) {
    const int op = static_cast<int>(g_rng() % 5);
    const int nt = 1 + static_cast<int>(g_rng() % 8);
    const double rates[] = {0.0, 0.0, 1e-4, 0.01, 0.3};
    const double rate = rates[g_rng() % 5];
    std::vector<Tensor> ts;
    int64_t total = 0;
    for (int k = 0; k < nt; ++k) {
      int64_t sz = (g_rng() % 4 == 0) ? static_cast<int64_t>(g_rng() % 3000) : sizes[g_rng() % 15];
      if (total + sz > 400000) sz = static_cast<int64_t>(g_rng() % 100);
      total += sz;
      ts.push_back(make_tensor(static_cast<int>(g_rng() % 4), sz, static_cast<int>(g_rng() % 3 == 0), rate));
    }
    double p = rand_p(g_rng);
    if (c % 17 == 0) p = (c % 2) ? 3.0 : 0.5;  // general p: within a few ulp
    const int sem = static_cast<int>(g_rng() % 2), pol = static_cast<int>(g_rng() % 3);
    double a, b = 0.0;
    if (op == GC_OP_CLIP_VALUE) {
      // bounds anywhere, including values that are not representable in the storage types
      a = -std::fabs(gen_value(GC_FLOAT64, 0.0)) * (1 + U(g_rng) * 1e-3);
      b = std::fabs(gen_value(GC_FLOAT64, 0.0)) * (1 + U(g_rng) * 1e-3);
      if (c % 11 == 0) { a = -std::numeric_limits<double>::infinity(); }
      if (c % 13 == 0) { b = 1e10; }  // rounds to inf in fp16
      if (c % 7 == 0) { a = b = 0.0; }
      if (c % 19 == 0) { a = -0.0; b = 0.0; }
    } else {
      const double ms[] = {0.0, 1e-3, 0.5, 1.0, 5.0, 100.0, 1e6, std::numeric_limits<double>::infinity()};
      a = ms[g_rng() % 8];
    }
    std::snprintf(label, sizeof label, "random#%d %s tensors=%d p=%g sem=%d pol=%d rate=%g a=%g b=%g", c, kOpNames[op], nt, p, sem, pol, rate, a, b);
    run_and_compare(e, op, ts, a, b, p, sem, pol, label, c % 10 == 3);
  }
  std::printf("  random sets: %d cases\n", ncases);
}

void test_policies(gc_engine* e) {
  // every op with a NaN / an inf, ERROR and SKIP: nothing written
  for (int op = 0; op <= 4; ++op)
    for (int dt = 0; dt < 4; ++dt)
      for (int pol = 0; pol < 3; ++pol)
        for (int special = 0; special < 2; ++special) {
          std::vector<Tensor> ts{make_tensor(dt, 5000, 0, 0.0), make_tensor(dt, 70000, 1, 0.0)};
          ts[1].set(12345, special ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN());
          char label[120];
          std::snprintf(label, sizeof label, "policy %s %s pol=%d %s", kOpNames[op], kDtNames[dt], pol, special ? "inf" : "nan");
          std::vector<Tensor> before = ts;
          run_and_compare(e, op, ts, op == 0 ? -0.5 : 0.25, op == 0 ? 0.5 : 0.0, 2.0, static_cast<int>(dt % 2), pol, label);
          // explicit: with ERROR/SKIP the data stay as they were
          if (pol != GC_NONFINITE_PROPAGATE) {
            std::vector<int64_t> addr, cnt;
            std::vector<int32_t> dts;
            for (auto& t : ts) { addr.push_back(reinterpret_cast<intptr_t>(t.base())); cnt.push_back(t.count); dts.push_back(t.dtype); }
            double sm[2];
            int64_t rc3[3];
            const int rc = op_run(e, op, addr.data(), cnt.data(), dts.data(), 2, op == 0 ? -0.5 : 0.25, op == 0 ? 0.5 : 0.0, 2.0, 0, pol, 0, 0,
                                  nullptr, nullptr, sm, rc3);
            const bool trig = op == GC_OP_NORMS ? true : true;  // a NaN/inf element makes every relevant norm non-finite
            if (trig) {
              CHECK(rc == (pol == GC_NONFINITE_ERROR ? GC_ERR_NONFINITE : GC_OK), "[%s] rc %d", label, rc);
              CHECK(rc3[2] == (pol == GC_NONFINITE_SKIP ? 1 : 0), "[%s] skipped", label);
              CHECK(rc3[0] == 0, "[%s] clipped %" PRId64 " while nothing is written", label, rc3[0]);
              for (size_t k = 0; k < ts.size(); ++k)
                CHECK(std::memcmp(ts[k].base(), before[k].base(), static_cast<size_t>(ts[k].count * esize(dt))) == 0, "[%s] data written", label);
              if (pol == GC_NONFINITE_ERROR) CHECK(std::strlen(gc_last_error()) > 0, "[%s] message", label);
            }
          }
        }
}

void test_many_tensors(gc_engine* e) {
  std::vector<Tensor> ts;
  for (int k = 0; k < 10000; ++k)
    ts.push_back(make_tensor(static_cast<int>(g_rng() % 4), static_cast<int64_t>(g_rng() % 200), static_cast<int>(g_rng() % 2), k % 2000 == 7 ? 0.01 : 0.0));
  const double inf = std::numeric_limits<double>::infinity();
  run_and_compare(e, GC_OP_NORMS, ts, 0, 0, 2.0, 0, 0, "10000 tensors norms p=2");
  run_and_compare(e, GC_OP_NORMS, ts, 0, 0, inf, 0, 0, "10000 tensors norms p=inf");
  run_and_compare(e, GC_OP_CLIP_GLOBAL_NORM, ts, 1.0, 0, 2.0, 0, 0, "10000 tensors global torch");
  run_and_compare(e, GC_OP_CLIP_GLOBAL_NORM, ts, 1.0, 0, 1.0, 1, 2, "10000 tensors global tf skip p=1");
  run_and_compare(e, GC_OP_CLIP_NORM, ts, 0.5, 0, 2.0, 1, 0, "10000 tensors per-tensor tf");
  run_and_compare(e, GC_OP_RENORMALIZE, ts, 0, 0, 2.0, 0, 0, "10000 tensors renormalize");
  run_and_compare(e, GC_OP_CLIP_VALUE, ts, -0.1, 0.1, 2.0, 0, 0, "10000 tensors clip value");
  // all finite: scales apply
  std::vector<Tensor> fin;
  for (int k = 0; k < 10000; ++k) fin.push_back(make_tensor(static_cast<int>(g_rng() % 4), static_cast<int64_t>(g_rng() % 300), static_cast<int>(g_rng() % 2), 0.0));
  run_and_compare(e, GC_OP_CLIP_GLOBAL_NORM, fin, 1.0, 0, 2.0, 0, 1, "10000 finite tensors global torch error");
  run_and_compare(e, GC_OP_CLIP_GLOBAL_NORM, fin, 1.0, 0, 3.0, 1, 0, "10000 finite tensors global tf p=3");
}

void test_big(gc_engine* e) {
  // 1,025+ chunks in one tensor: the per-tensor fold wraps its 1,024 lanes
  const int64_t n = 1025 * 65536 + 777;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Tensor> ts{make_tensor(GC_FLOAT16, n, 1, 1e-7), make_tensor(GC_FLOAT32, 3, 0, 0.0)};
  run_and_compare(e, GC_OP_NORMS, ts, 0, 0, 2.0, 0, 0, "big f16 norms p=2");
  run_and_compare(e, GC_OP_CLIP_GLOBAL_NORM, ts, 10.0, 0, 2.0, 0, 0, "big f16 global torch");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  big: %" PRId64 " fp16 elements, 2 ops incl. reference, %.2f s\n", n, secs);
}

void test_speed(gc_engine* e) {
  std::vector<Tensor> ts{make_tensor(GC_FLOAT32, 10000000, 0, 0.0)};
  std::vector<int64_t> addr{reinterpret_cast<intptr_t>(ts[0].base())}, cnt{ts[0].count};
  std::vector<int32_t> dts{GC_FLOAT32};
  double sm[2];
  int64_t c3[3];
  auto t0 = std::chrono::steady_clock::now();
  const int rc = op_run(e, GC_OP_NORMS, addr.data(), cnt.data(), dts.data(), 1, 0, 0, 2.0, 0, 0, 0, 0, nullptr, nullptr, sm, c3);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(rc == GC_OK, "speed run");
  std::printf("  emulated norm of 1e7 fp32 elements: %.3f s\n", secs);
}

void test_invalid(gc_engine* e) {
  Tensor t = make_tensor(GC_FLOAT32, 100, 0, 0.0);
  const Tensor orig = t;
  int64_t addr[2] = {reinterpret_cast<intptr_t>(t.base()), 0}, cnt[2] = {100, 0};
  int32_t dts[2] = {GC_FLOAT32, GC_FLOAT32};
  double nm[2], sc[2], sm[2];
  int64_t c3[3];
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Bad { const char* what; std::function<int()> call; };
  int64_t neg_cnt[1] = {-1};
  int64_t null_addr[1] = {0};
  int32_t bad_dt[1] = {7};
  const gc_tensor_table tab{addr, cnt, dts, 1};
  const gc_tensor_table neg_n{addr, cnt, dts, -1};
  const gc_tensor_table null_addresses{nullptr, cnt, dts, 1};
  const gc_tensor_table null_counts{addr, nullptr, dts, 1};
  const gc_tensor_table null_dtypes{addr, cnt, nullptr, 1};
  const gc_tensor_table negative_count{addr, neg_cnt, dts, 1};
  const gc_tensor_table bad_dtype{addr, cnt, bad_dt, 1};
  const gc_tensor_table null_address{null_addr, cnt, dts, 1};
  int64_t c2[2] = {100, -5};
  const gc_tensor_table second_negative{addr, c2, dts, 2};
  int64_t mis2[1] = {addr[0] + 2}, mis4[1] = {addr[0] + 4}, c10[1] = {10};
  int32_t f64[1] = {GC_FLOAT64};
  const gc_tensor_table misaligned32{mis2, cnt, dts, 1}, misaligned64{mis4, c10, f64, 1};
  const double inf = std::numeric_limits<double>::infinity();
  gc_count_result cr{};
  gc_clamp_result clr{};
  gc_norms_result nr{nm, sc, nullptr, 0};
  gc_scale_result sr{};
  gc_global_clip_result gr{};
  const double scales1[1] = {0.5};
  int64_t chunks = 0;
  (void)sm; (void)c3;
  std::vector<Bad> bad = {
      {"misaligned fp32 view", [&] { return static_cast<int>(gc_norms(e, &misaligned32, GC_NORM_L2, 2, 0, &nr)); }},
      {"misaligned fp64 view", [&] { return static_cast<int>(gc_scale(e, &misaligned64, scales1, 0, &sr)); }},
      {"count null engine", [&] { return static_cast<int>(gc_count_nonfinite(nullptr, &tab, 0, &cr)); }},
      {"count null table", [&] { return static_cast<int>(gc_count_nonfinite(e, nullptr, 0, &cr)); }},
      {"count null out", [&] { return static_cast<int>(gc_count_nonfinite(e, &tab, 0, nullptr)); }},
      {"n < 0", [&] { return static_cast<int>(gc_norms(e, &neg_n, GC_NORM_L2, 2, 0, &nr)); }},
      {"null addresses", [&] { return static_cast<int>(gc_norms(e, &null_addresses, GC_NORM_L2, 2, 0, &nr)); }},
      {"null counts", [&] { return static_cast<int>(gc_norms(e, &null_counts, GC_NORM_L2, 2, 0, &nr)); }},
      {"null dtypes", [&] { return static_cast<int>(gc_norms(e, &null_dtypes, GC_NORM_L2, 2, 0, &nr)); }},
      {"negative count", [&] { return static_cast<int>(gc_scale(e, &negative_count, scales1, 0, &sr)); }},
      {"bad dtype", [&] { return static_cast<int>(gc_scale(e, &bad_dtype, scales1, 0, &sr)); }},
      {"null address with count", [&] { return static_cast<int>(gc_scale(e, &null_address, scales1, 0, &sr)); }},
      {"null scales", [&] { return static_cast<int>(gc_scale(e, &tab, nullptr, 0, &sr)); }},
      {"scale null out", [&] { return static_cast<int>(gc_scale(e, &tab, scales1, 0, nullptr)); }},
      {"norms null out", [&] { return static_cast<int>(gc_norms(e, &tab, GC_NORM_L2, 2, 0, nullptr)); }},
      {"bad norm kind", [&] { return static_cast<int>(gc_norms(e, &tab, static_cast<gc_norm_kind>(4), 2, 0, &nr)); }},
      {"bad norm kind -1", [&] { return static_cast<int>(gc_norms(e, &tab, static_cast<gc_norm_kind>(-1), 2, 0, &nr)); }},
      {"general p = 0", [&] { return static_cast<int>(gc_norms(e, &tab, GC_NORM_GENERAL, 0, 0, &nr)); }},
      {"general p < 0", [&] { return static_cast<int>(gc_norms(e, &tab, GC_NORM_GENERAL, -2, 0, &nr)); }},
      {"general p NaN", [&] { return static_cast<int>(gc_norms(e, &tab, GC_NORM_GENERAL, nan, 0, &nr)); }},
      {"general p inf", [&] { return static_cast<int>(gc_norms(e, &tab, GC_NORM_GENERAL, inf, 0, &nr)); }},
      {"general p = 2", [&] { return static_cast<int>(gc_norms(e, &tab, GC_NORM_GENERAL, 2, 0, &nr)); }},
      {"bad semantics", [&] { return static_cast<int>(gc_clip_global_norm(e, &tab, GC_NORM_L2, 1, static_cast<gc_semantics>(2), GC_NONFINITE_PROPAGATE, 0, 0, &gr)); }},
      {"bad policy", [&] { return static_cast<int>(gc_clip_global_norm(e, &tab, GC_NORM_L2, 1, GC_SEMANTICS_TORCH, static_cast<gc_nonfinite_policy>(3), 0, 0, &gr)); }},
      {"NaN max_norm", [&] { return static_cast<int>(gc_clip_global_norm(e, &tab, GC_NORM_L2, nan, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, &gr)); }},
      {"negative max_norm", [&] { return static_cast<int>(gc_clip_global_norm(e, &tab, GC_NORM_L2, -1, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, &gr)); }},
      {"infinite max_norm", [&] { return static_cast<int>(gc_clip_global_norm(e, &tab, GC_NORM_L2, inf, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, &gr)); }},
      {"fused general p", [&] { return static_cast<int>(gc_clip_global_norm(e, &tab, GC_NORM_GENERAL, 1, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, &gr)); }},
      {"fused bad flags", [&] { return static_cast<int>(gc_clip_global_norm(e, &tab, GC_NORM_L2, 1, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 6, &gr)); }},
      {"fused null out", [&] { return static_cast<int>(gc_clip_global_norm(e, &tab, GC_NORM_L2, 1, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, nullptr)); }},
      {"fused null engine", [&] { return static_cast<int>(gc_clip_global_norm(nullptr, &tab, GC_NORM_L2, 1, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, &gr)); }},
      {"NaN lo", [&] { return static_cast<int>(gc_clamp(e, &tab, nan, 1, 0, &clr)); }},
      {"NaN hi", [&] { return static_cast<int>(gc_clamp(e, &tab, -1, nan, 0, &clr)); }},
      {"lo > hi", [&] { return static_cast<int>(gc_clamp(e, &tab, 1, -1, 0, &clr)); }},
      {"second tensor negative", [&] { return static_cast<int>(gc_clamp(e, &second_negative, -1, 1, 0, &clr)); }},
      {"chunk count null out", [&] { return static_cast<int>(gc_chunk_count(&tab, nullptr)); }},
      {"chunk count null table", [&] { return static_cast<int>(gc_chunk_count(nullptr, &chunks)); }},
      {"alloc negative", [&] { int64_t a; return static_cast<int>(gc_device_alloc(-1, &a)); }},
      {"alloc null out", [&] { return static_cast<int>(gc_device_alloc(16, nullptr)); }},
      {"memcpy kind", [&] { return static_cast<int>(gc_memcpy(addr[0], addr[0], 4, static_cast<gc_copy_kind>(3), 0)); }},
      {"memcpy negative", [&] { return static_cast<int>(gc_memcpy(addr[0], addr[0], -4, GC_COPY_HOST_TO_DEVICE, 0)); }},
      {"memcpy null", [&] { return static_cast<int>(gc_memcpy(0, addr[0], 4, GC_COPY_HOST_TO_DEVICE, 0)); }},
      {"engine_create null", [&] { return static_cast<int>(gc_engine_create(nullptr)); }},
      {"wait null engine", [&] { return static_cast<int>(gc_clip_global_norm_wait(nullptr, &gr)); }},
  };
  for (auto& b : bad) {
    const int rc = b.call();
    CHECK(rc == GC_ERR_INVALID_ARGUMENT, "invalid '%s': rc %d", b.what, rc);
    CHECK(std::strlen(gc_last_error()) > 0, "invalid '%s': no message", b.what);
    CHECK(std::memcmp(t.base(), orig.base(), 400) == 0, "invalid '%s': data touched", b.what);
  }
  // a fresh engine has no result
  gc_engine* f = nullptr;
  CHECK(gc_engine_create(&f) == GC_OK, "engine create");
  CHECK(gc_clip_global_norm_wait(f, &gr) == GC_ERR_INVALID_ARGUMENT, "wait without a global clip");
  gc_engine_destroy(f);
  gc_engine_destroy(nullptr);
  // messages name the problem
  gc_clamp(e, &tab, 1, -1, 0, &clr);
  CHECK(std::strstr(gc_last_error(), "lo > hi") != nullptr, "message for lo > hi: '%s'", gc_last_error());
  // n == 0 is valid, with NULL tables
  const gc_tensor_table empty{nullptr, nullptr, nullptr, 0};
  gr.tensor_norms = nullptr;
  CHECK(gc_clip_global_norm(e, &empty, GC_NORM_L2, 1, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, &gr) == GC_OK, "n = 0");
  CHECK(gr.total_norm == 0.0 && gr.scale == 1.0 && gr.clipped_elements == 0 && gr.nonfinite_elements == 0 && gr.stopped == 0, "n = 0 outputs");
  CHECK(gc_chunk_count(&empty, &chunks) == GC_OK && chunks == 0, "n = 0 chunks");
  CHECK(gc_chunk_count(&tab, &chunks) == GC_OK && chunks == 1, "chunk count");
  // the wait reads the same result again
  gr.tensor_norms = nm;
  CHECK(gc_clip_global_norm(e, &tab, GC_NORM_L2, 1e30, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE, 0, 0, &gr) == GC_OK, "sync fused");
  gc_global_clip_result again{};
  again.tensor_norms = sc;
  CHECK(gc_clip_global_norm_wait(e, &again) == GC_OK && dbits(again.total_norm) == dbits(gr.total_norm) && dbits(sc[0]) == dbits(nm[0]),
        "wait after a synchronous fused clip");
}

void test_api_misc() {
  CHECK(std::strcmp(gc_backend_name(), "emulated") == 0, "backend name %s", gc_backend_name());
  int32_t dc = -1, ce = -1;
  CHECK(gc_probe(&dc, &ce) == GC_OK && dc == 1 && ce == 0, "probe");
  CHECK(gc_probe(nullptr, nullptr) == GC_OK, "probe NULL");
  int64_t d = 0, z = 1;
  CHECK(gc_device_alloc(1000, &d) == GC_OK && d != 0 && d % 256 == 0, "alloc aligned");
  CHECK(gc_device_alloc(0, &z) == GC_OK && z == 0, "alloc 0");
  std::vector<float> h(250), back(250);
  for (int i = 0; i < 250; ++i) h[static_cast<size_t>(i)] = static_cast<float>(i) * 0.5f;
  CHECK(gc_memcpy(d, reinterpret_cast<intptr_t>(h.data()), 1000, GC_COPY_HOST_TO_DEVICE, 0) == GC_OK, "memcpy h2d");
  CHECK(gc_memcpy(reinterpret_cast<intptr_t>(back.data()), d, 1000, GC_COPY_DEVICE_TO_HOST, 0) == GC_OK, "memcpy d2h");
  CHECK(h == back, "memcpy round trip");
  CHECK(gc_memcpy(d, d, 0, GC_COPY_DEVICE_TO_DEVICE, 0) == GC_OK, "memcpy 0 bytes");
  CHECK(gc_device_free(d) == GC_OK && gc_device_free(0) == GC_OK, "free");
}

void test_threads() {
  // the emulation layer's state is per OS thread: engines on two threads at once
  auto work = [](uint64_t seed, int* fails) {
    std::mt19937_64 r(seed);
    gc_engine* e = nullptr;
    gc_engine_create(&e);
    std::vector<float> v(100000);
    for (auto& x : v) x = static_cast<float>(static_cast<int64_t>(r() % 2001) - 1000) * 0.001f;
    int64_t addr = reinterpret_cast<intptr_t>(v.data()), cnt = static_cast<int64_t>(v.size());
    int32_t dt = GC_FLOAT32;
    double first[2] = {0, 0};
    for (int i = 0; i < 20; ++i) {
      double sm[2];
      int64_t c3[3];
      if (op_run(e, GC_OP_NORMS, &addr, &cnt, &dt, 1, 0, 0, 2.0, 0, 0, 0, 0, nullptr, nullptr, sm, c3) != GC_OK) ++*fails;
      if (i == 0) { first[0] = sm[0]; }
      else if (dbits(sm[0]) != dbits(first[0])) ++*fails;
    }
    gc_engine_destroy(e);
  };
  int f1 = 0, f2 = 0;
  std::thread a(work, 1, &f1), b(work, 2, &f2);
  a.join();
  b.join();
  CHECK(f1 == 0 && f2 == 0, "threads: %d %d failures", f1, f2);
}

void test_leak_loop(int64_t iters) {
  gc_engine* e = nullptr;
  gc_engine_create(&e);
  std::vector<float> a(37, 0.5f), b(1500, -2.0f);
  std::vector<uint16_t> c(9, 0x3c00);
  int64_t addr[3] = {reinterpret_cast<intptr_t>(a.data()), reinterpret_cast<intptr_t>(b.data()), reinterpret_cast<intptr_t>(c.data())};
  int64_t cnt[3] = {37, 1500, 9};
  int32_t dts[3] = {GC_FLOAT32, GC_FLOAT32, GC_FLOAT16};
  int64_t bad = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) {
    double nm[3], sc[3], sm[2];
    int64_t c3[3];
    const int op = static_cast<int>(i % 5);
    const int rc = op_run(e, op, addr, cnt, dts, 1 + i % 3, op == 0 ? -1.0 : 1e9, op == 0 ? 1.0 : 0.0, 2.0, 0, static_cast<int>(i % 3), 0, 0, nm, sc, sm, c3);
    if (rc != GC_OK) ++bad;
    if (i % 1000 == 999) {  // engines and device memory come and go
      gc_engine_destroy(e);
      gc_engine_create(&e);
      int64_t d;
      gc_device_alloc(4096 + i % 7, &d);
      gc_device_free(d);
    }
  }
  gc_engine_destroy(e);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(bad == 0, "leak loop: %" PRId64 " failing calls (%s)", bad, gc_last_error());
  std::printf("  leak loop: %" PRId64 " operations, %.1f s\n", iters, secs);
}

}  // namespace

// The reference works on large tensors with every core (reference.h: for_each_index); its bits must be
// those of the one-thread loop. Forced threaded (parallel_min 0) against forced serial, every op, dtype
// and p kind, with specials.
void test_reference_threads() {
  const int64_t saved = gcref::parallel_min();
  const double ps[] = {2.0, 1.0, INFINITY, 3.0};
  for (int op : {GC_OP_NORMS, GC_OP_CLIP_NORM, GC_OP_CLIP_GLOBAL_NORM, GC_OP_RENORMALIZE})
    for (double p : ps) {
      std::vector<Tensor> in;
      for (int dt = 0; dt < 4; ++dt) in.push_back(make_tensor(dt, 65536 * 3 + 1025, dt % 2, 1e-4));
      std::vector<Tensor> a = in, b = in;
      gcref::parallel_min() = std::numeric_limits<int64_t>::max();
      const Out ra = ref_run(op, a, 0.5, 0.0, p, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE);
      gcref::parallel_min() = 0;
      const Out rb = ref_run(op, b, 0.5, 0.0, p, GC_SEMANTICS_TORCH, GC_NONFINITE_PROPAGATE);
      for (size_t k = 0; k < in.size(); ++k) {
        CHECK(dbits(ra.norms[k]) == dbits(rb.norms[k]) && dbits(ra.scales[k]) == dbits(rb.scales[k]), "threaded reference: op %d p %g tensor %zu", op, p, k);
        CHECK(std::memcmp(a[k].base(), b[k].base(), static_cast<size_t>(a[k].count * esize(a[k].dtype))) == 0, "threaded reference: op %d p %g tensor %zu memory", op, p, k);
      }
      CHECK(dbits(ra.summary[0]) == dbits(rb.summary[0]) && dbits(ra.summary[1]) == dbits(rb.summary[1]), "threaded reference: op %d p %g summary", op, p);
      for (int j = 0; j < 3; ++j) CHECK(ra.counts[j] == rb.counts[j], "threaded reference: op %d p %g counts[%d]", op, p, j);
    }
  gcref::parallel_min() = saved;
}

int main() {
  const char* seed_env = std::getenv("GC_TEST_SEED");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 20261124ull;
  const bool quick = std::getenv("GC_TEST_QUICK") && std::strcmp(std::getenv("GC_TEST_QUICK"), "0") != 0;
  const char* li = std::getenv("GC_TEST_LEAK_ITERS");
  const int64_t leak_iters = li ? std::strtoll(li, nullptr, 10) : 100000;
  g_rng.seed(seed);
  std::printf("gradclip emulated-kernel harness: backend %s, seed %" PRIu64 "%s\n", gc_backend_name(), seed, quick ? ", quick" : "");
  gc_engine* e = nullptr;
  if (gc_engine_create(&e) != GC_OK) { std::fprintf(stderr, "engine create failed\n"); return 1; }

  struct Group { const char* name; std::function<void()> fn; };
  std::vector<Group> groups = {
      {"api", [&] { test_api_misc(); }},
      {"conversions", [&] { test_conversions(); }},
      {"reference on threads", [&] { test_reference_threads(); }},
      {"invalid arguments", [&] { test_invalid(e); }},
      {"numerics rules", [&] { test_rules(e); }},
      {"table cache", [&] { test_table_cache(e); }},
      {"single-tensor sweep", [&] { test_single_sweep(e, quick); }},
      {"policies", [&] { test_policies(e); }},
      {"random sets", [&] { test_random_sets(e, quick ? 150 : 600); }},
      {"10,000 tensors", [&] { test_many_tensors(e); }},
      {"threads", [&] { test_threads(); }},
      {"speed", [&] { test_speed(e); }},
      {"big", [&] { if (!quick) test_big(e); else std::printf("  (skipped in quick mode)\n"); }},
      {"leak loop", [&] { test_leak_loop(leak_iters); }},
  };
  for (auto& g : groups) {
    const int64_t f0 = g_failures;
    auto t0 = std::chrono::steady_clock::now();
    std::printf("[%s]\n", g.name);
    std::fflush(stdout);
    g.fn();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("  -> %s (%.1f s)\n", g_failures == f0 ? "ok" : "FAILED", secs);
    std::fflush(stdout);
  }
  gc_engine_destroy(e);
  std::printf("%" PRId64 " checks, %" PRId64 " failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
