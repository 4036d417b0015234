// cpu_test.cpp - libgradclip-cpu against an independent, literal C++ reference of
// docs/canonical-reduction.md (1,024 zeroed lanes, the full fold tree, per-element clamp/scale rules),
// on every instruction-set path this CPU has, bit for bit (outputs as raw bits, NaN payloads included;
// NaN norm partials only as NaN, since x86 picks between two NaN operands by operand order).
//   gradclip_cpu_test            correctness (GC_TEST_QUICK=1: fewer random cases)
//   gradclip_cpu_test --bench    rough single-machine throughput of each kernel and a STREAM-style floor
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>
#include "gradclip_cpu.h"

namespace {

int failures = 0;
long checks = 0;
#define CHECK(cond, ...)                                     \
  do {                                                       \
    ++checks;                                                \
    if (!(cond)) {                                           \
      if (failures++ < 20) {                                 \
        std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        std::fprintf(stderr, __VA_ARGS__);                   \
        std::fprintf(stderr, "\n");                          \
      }                                                      \
    }                                                        \
  } while (0)

uint32_t fbits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
float bitsf(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
uint64_t dbits(double d) { uint64_t u; std::memcpy(&u, &d, 8); return u; }
double bitsd(uint64_t u) { double d; std::memcpy(&d, &u, 8); return d; }

// reference conversions: GCC's _Float16 (libgcc's soft conversion, RNE) and the bf16 definition
float ref_h2f(uint16_t h) { _Float16 v; std::memcpy(&v, &h, 2); return static_cast<float>(v); }
uint16_t ref_f2h(float f) { _Float16 v = static_cast<_Float16>(f); uint16_t h; std::memcpy(&h, &v, 2); return h; }
float ref_b2f(uint16_t b) { return bitsf(static_cast<uint32_t>(b) << 16); }
uint16_t ref_f2b(float f) {  // RNE on the value: pick the nearer of the two truncations, ties to even
  const uint32_t u = fbits(f);
  const uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;
  // the step above the largest finite bf16 is 2^128 (it rounds to infinity)
  const double vh = (hi & 0x7fffffffu) == 0x7f800000u ? std::copysign(std::ldexp(1.0, 128), f) : static_cast<double>(bitsf(hi));
  const double dl = std::fabs(static_cast<double>(bitsf(lo)) - f), dh = std::fabs(vh - f);
  if ((u & 0xffffu) == 0) return static_cast<uint16_t>(u >> 16);
  if ((u & 0x7f800000u) == 0x7f800000u) return static_cast<uint16_t>(u >> 16);
  if (dl < dh || (dl == dh && ((lo >> 16) & 1u) == 0)) return static_cast<uint16_t>(lo >> 16);
  return static_cast<uint16_t>(hi >> 16);
}

int esize(int dt) { return dt == GCCPU_F64 ? 8 : dt == GCCPU_F32 ? 4 : 2; }
double ref_widen(const void* p, int dt, int64_t i) {
  switch (dt) {
    case GCCPU_F32: return static_cast<const float*>(p)[i];
    case GCCPU_F64: return static_cast<const double*>(p)[i];
    case GCCPU_F16: return ref_h2f(static_cast<const uint16_t*>(p)[i]);
    default: return ref_b2f(static_cast<const uint16_t*>(p)[i]);
  }
}

double comb(int kind, double a, double b) {
  if (kind == GCCPU_NORM_INF) return std::isnan(a) ? a : std::isnan(b) ? b : (a > b ? a : b);
  return a + b;
}
double ref_fold(int kind, std::vector<double> L) {
  for (int t = 0; t < 256; ++t) L[t] = comb(kind, comb(kind, L[4 * t], L[4 * t + 1]), comb(kind, L[4 * t + 2], L[4 * t + 3]));
  for (int w = 0; w < 8; ++w)
    for (int off = 16; off > 0; off >>= 1)
      for (int k = 0; k < off; ++k) L[32 * w + k] = comb(kind, L[32 * w + k], L[32 * w + k + off]);
  for (int off = 4; off > 0; off >>= 1)
    for (int k = 0; k < off; ++k) L[32 * k] = comb(kind, L[32 * k], L[32 * (k + off)]);
  return L[0];
}
double ref_chunk(int kind, const void* p, int dt, int64_t start, int64_t len) {
  std::vector<double> L(1024, 0.0);
  for (int64_t i = 0; i < len; ++i) {
    const double d = ref_widen(p, dt, start + i);
    volatile double sq = d * d;  // one rounding, never fused
    const double t = kind == GCCPU_NORM_L2 ? static_cast<double>(sq) : std::fabs(d);
    L[i % 1024] = comb(kind, L[i % 1024], t);
  }
  return ref_fold(kind, L);
}

struct Buf {
  std::vector<unsigned char> mem;
  int dt = 0;
  int64_t n = 0;
  int mis = 0;
  void* data() { return mem.data() + 64 + mis * esize(dt); }
};

double draw(std::mt19937_64& r, int kind_of_values, int dt) {
  std::normal_distribution<double> g;
  const double x = g(r);
  switch (kind_of_values) {
    case 0: return x;
    case 1: return x * (dt == GCCPU_F64 ? 1e200 : dt == GCCPU_F16 ? 3e4 : 1e37);
    case 2: return x * (dt == GCCPU_F64 ? 1e-310 : dt == GCCPU_F16 ? 3e-6 : 1e-41);
    case 3: return (r() % 8 == 0) ? -0.0 : 0.0;
    case 4: return x * std::pow(10.0, static_cast<int>(r() % 60) - 30);
    default:
      switch (r() % 40) {
        case 0: return bitsd(0x7ff8000000000123ull | ((r() & 1) << 63));  // NaN with payload and either sign
        case 1: return INFINITY;
        case 2: return -INFINITY;
        case 3: return -0.0;
        case 4: return bitsd(0x7ff0000000000001ull);  // signalling NaN (quiet once narrowed to fp32)
        default: return x;
      }
  }
}

void fill(Buf& b, int dt, int64_t n, int values, std::mt19937_64& r) {
  b.dt = dt;
  b.n = n;
  // 0-31 elements past the (16-byte aligned) allocation: every number of elements before the first
  // 64-byte boundary (the masked head vectors of the AVX-512 clamp and scale) for every element size
  b.mis = static_cast<int>(r() % 32);
  b.mem.assign(static_cast<size_t>(64 + (n + 32) * esize(dt) + 64), 0xAB);
  for (int64_t i = 0; i < n; ++i) {
    const double x = draw(r, values, dt);
    switch (dt) {
      case GCCPU_F32: {
        // narrowing quiets a signalling NaN, so fp32 ones are stored as bits (either sign, a payload)
        const bool snan = values > 4 && r() % 64 == 0;
        static_cast<float*>(b.data())[i] = snan ? bitsf(0x7f800001u | static_cast<uint32_t>(r() & 0x3ffffeu) | static_cast<uint32_t>((r() & 1) << 31))
                                                : static_cast<float>(x);
        break;
      }
      case GCCPU_F64: static_cast<double*>(b.data())[i] = x; break;
      case GCCPU_F16: {
        uint16_t h = std::isnan(x) ? static_cast<uint16_t>(0x7c01u | (r() & 0x3ffu) | ((r() & 1) << 15)) : ref_f2h(static_cast<float>(x));
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) == 0 && std::isnan(x)) h |= 1;
        static_cast<uint16_t*>(b.data())[i] = h;
        break;
      }
      default: {
        uint16_t h = std::isnan(x) ? static_cast<uint16_t>(0x7f81u | (r() & 0x7fu) | ((r() & 1) << 15)) : ref_f2b(static_cast<float>(x));
        static_cast<uint16_t*>(b.data())[i] = h;
        break;
      }
    }
  }
}

int64_t chunks_of(int64_t n) { return (n + GCCPU_CHUNK - 1) / GCCPU_CHUNK; }

std::vector<gccpu_tensor> table(std::vector<Buf>& bufs) {
  std::vector<gccpu_tensor> t(bufs.size());
  for (size_t i = 0; i < bufs.size(); ++i) t[i] = gccpu_tensor{bufs[i].data(), bufs[i].n, bufs[i].dt, 0};
  return t;
}

bool nonfinite(double d) { return !std::isfinite(d); }

// ---- reference clamp and scale of one tensor
void ref_clamp(Buf& b, const gccpu_bounds& B, int64_t& clipped, int64_t& nf) {
  for (int64_t i = 0; i < b.n; ++i) {
    const double x = ref_widen(b.data(), b.dt, i);
    nf += nonfinite(x);
    double lo, hi;
    switch (b.dt) {
      case GCCPU_F32: lo = B.lo32; hi = B.hi32; break;
      case GCCPU_F64: lo = B.lo64; hi = B.hi64; break;
      case GCCPU_F16: lo = ref_h2f(B.lo16); hi = ref_h2f(B.hi16); break;
      default: lo = ref_b2f(B.lobf); hi = ref_b2f(B.hibf); break;
    }
    const double t = x < lo ? lo : x;
    const double y = hi < t ? hi : t;
    if (x < lo || x > hi) {
      ++clipped;
      switch (b.dt) {
        case GCCPU_F32: static_cast<float*>(b.data())[i] = static_cast<float>(y); break;
        case GCCPU_F64: static_cast<double*>(b.data())[i] = y; break;
        case GCCPU_F16: static_cast<uint16_t*>(b.data())[i] = x < lo ? B.lo16 : B.hi16; break;
        default: static_cast<uint16_t*>(b.data())[i] = x < lo ? B.lobf : B.hibf; break;
      }
    }
  }
}

void ref_scale(Buf& b, double s) {
  const float s32 = static_cast<float>(s);
  const float a = std::fabs(s32);
  const bool wide = !(std::isnan(s32) || (a >= 1.17549435e-38f && a <= 3.40282347e+38f));
  if (b.dt == GCCPU_F64 ? s == 1.0 : s32 == 1.0f) return;
  for (int64_t i = 0; i < b.n; ++i) {
    switch (b.dt) {
      case GCCPU_F64: {
        double& x = static_cast<double*>(b.data())[i];
        if (std::isnan(x)) { x = bitsd(dbits(x) | 0x0008000000000000ull); break; }
        const double y = x * s;
        x = std::isnan(y) ? bitsd(0x7ff8000000000000ull) : y;
        break;
      }
      case GCCPU_F32: {
        float& x = static_cast<float*>(b.data())[i];
        if (std::isnan(x)) { x = bitsf(fbits(x) | 0x00400000u); break; }
        const float y = wide ? static_cast<float>(static_cast<double>(x) * s) : x * s32;
        x = std::isnan(y) ? bitsf(0x7fc00000u) : y;
        break;
      }
      default: {
        const bool bf = b.dt == GCCPU_BF16;
        uint16_t& h = static_cast<uint16_t*>(b.data())[i];
        const float x = bf ? ref_b2f(h) : ref_h2f(h);
        if (std::isnan(x)) { h = static_cast<uint16_t>(h | (bf ? 0x40u : 0x200u)); break; }
        const float y = wide ? static_cast<float>(static_cast<double>(x) * s) : x * s32;
        h = std::isnan(y) ? (bf ? 0x7fc0u : 0x7e00u) : (bf ? ref_f2b(y) : ref_f2h(y));
        break;
      }
    }
  }
}

bool same_memory(const Buf& a, const Buf& b) { return a.mem == b.mem; }

// One case: a table of tensors, compared op by op on every ISA over random chunk ranges.
void run_case(std::mt19937_64& r, const std::vector<int64_t>& sizes, int dt, int values, const char* what) {
  std::vector<Buf> base(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) fill(base[i], dt, sizes[i], values, r);
  int64_t total_chunks = 0;
  for (int64_t n : sizes) total_chunks += chunks_of(n);
  for (int isa = GCCPU_ISA_SCALAR; isa <= GCCPU_ISA_AVX512; ++isa) {
    if (!gccpu_isa_supported(isa)) continue;
    CHECK(gccpu_set_isa(isa) == GCCPU_OK, "set isa %d", isa);
    CHECK(gccpu_isa() == isa, "active isa");
    // norms, every kind, whole table in one call
    for (int kind = 1; kind <= 3; ++kind) {
      std::vector<Buf> bufs = base;
      auto t = table(bufs);
      std::vector<double> part(static_cast<size_t>(total_chunks) + 1, -1.0);
      int64_t nf = 0;
      CHECK(gccpu_norms(t.data(), static_cast<int64_t>(t.size()), 0, total_chunks, kind, part.data(), &nf) == GCCPU_OK, "norms rc");
      int64_t c = 0, ref_nf = 0;
      for (auto& b : bufs) {
        for (int64_t k = 0; k < chunks_of(b.n); ++k, ++c) {
          const int64_t len = std::min<int64_t>(GCCPU_CHUNK, b.n - k * GCCPU_CHUNK);
          const double want = ref_chunk(kind, b.data(), b.dt, k * GCCPU_CHUNK, len);
          const bool ok = (std::isnan(want) && std::isnan(part[c])) || dbits(want) == dbits(part[c]);
          CHECK(ok, "%s isa=%s dt=%d kind=%d chunk %ld: %.17g (0x%016llx) vs ref %.17g (0x%016llx)", what, gccpu_isa_name(isa), dt, kind,
                static_cast<long>(c), part[c], static_cast<unsigned long long>(dbits(part[c])), want, static_cast<unsigned long long>(dbits(want)));
        }
        for (int64_t i = 0; i < b.n; ++i) ref_nf += nonfinite(ref_widen(b.data(), b.dt, i));
      }
      CHECK(nf == ref_nf, "%s nonfinite %ld vs %ld", what, static_cast<long>(nf), static_cast<long>(ref_nf));
      CHECK(part[total_chunks] == -1.0, "wrote past the partials");
      for (size_t i = 0; i < bufs.size(); ++i) CHECK(same_memory(bufs[i], base[i]), "norms wrote memory");
      int64_t nf2 = 0;
      CHECK(gccpu_count_nonfinite(t.data(), static_cast<int64_t>(t.size()), 0, total_chunks, &nf2) == GCCPU_OK && nf2 == ref_nf,
            "count_nonfinite %ld vs %ld", static_cast<long>(nf2), static_cast<long>(ref_nf));
    }
    // clamp, split into two ranges at a random chunk (as two threads would)
    {
      std::normal_distribution<double> g;
      double lo = -std::fabs(g(r)), hi = std::fabs(g(r));
      if (values == 1) { lo *= 1e4; hi *= 1e4; }
      // zero bounds of either sign (the rule compares as reals: -0.0 and +0.0 are equal, never clipped)
      if (r() % 5 == 0) hi = r() % 2 ? -0.0 : 0.0;
      if (r() % 7 == 0) lo = r() % 2 ? 0.0 : -0.0;
      gccpu_bounds B{lo, hi, static_cast<float>(lo), static_cast<float>(hi), ref_f2h(static_cast<float>(lo)), ref_f2h(static_cast<float>(hi)),
                     ref_f2b(static_cast<float>(lo)), ref_f2b(static_cast<float>(hi))};
      std::vector<Buf> bufs = base, want = base;
      int64_t cl = 0, nf = 0;
      for (auto& b : want) ref_clamp(b, B, cl, nf);
      auto t = table(bufs);
      int64_t counts[3] = {0, 0, 0};
      const int64_t split = total_chunks == 0 ? 0 : static_cast<int64_t>(r() % static_cast<uint64_t>(total_chunks + 1));
      // find the tensor and chunk where the split falls
      int64_t ti = 0, acc = 0;
      while (ti < static_cast<int64_t>(t.size()) && acc + chunks_of(t[ti].count) <= split) acc += chunks_of(t[ti++].count);
      CHECK(gccpu_clamp(t.data(), static_cast<int64_t>(t.size()), 0, split, &B, counts) == GCCPU_OK, "clamp rc 1");
      if (split < total_chunks)
        CHECK(gccpu_clamp(t.data() + ti, static_cast<int64_t>(t.size()) - ti, split - acc, total_chunks - split, &B, counts) == GCCPU_OK, "clamp rc 2");
      CHECK(counts[0] == cl && counts[1] == nf, "%s clamp isa=%s dt=%d counts %ld/%ld vs %ld/%ld", what, gccpu_isa_name(isa), dt,
            static_cast<long>(counts[0]), static_cast<long>(counts[1]), static_cast<long>(cl), static_cast<long>(nf));
      for (size_t i = 0; i < bufs.size(); ++i) CHECK(same_memory(bufs[i], want[i]), "%s clamp isa=%s dt=%d memory of tensor %zu", what, gccpu_isa_name(isa), dt, i);
    }
    // scale, per-tensor scales including 1, NaN, 0, huge, tiny
    {
      std::vector<Buf> bufs = base, want = base;
      std::vector<double> s(bufs.size());
      for (auto& v : s) {
        switch (r() % 10) {
          case 0: v = 1.0; break;
          case 1: v = NAN; break;
          case 2: v = 0.0; break;
          case 3: v = 1e-40; break;   // subnormal as fp32: the fp64 path
          case 4: v = 1e39; break;    // inf as fp32: the fp64 path
          case 5: v = 1.0 + 1e-12; break;  // rounds to 1.0f: not written for fp32/16, written for fp64
          case 6: v = 1.5; break;  // x * 1.5 is exact in fp32 and ties in fp16/bf16 for every odd x: RNE, both ways
          case 7:  // NaN scales that are not the positive canonical NaN: the product must still be the canonical one
            v = bitsd(r() % 2 ? 0xfff8000000000000ull : 0x7fffffffffffffffull);
            break;
          default: v = std::ldexp(static_cast<double>(r() % 1000000) + 1.0, -20); break;
        }
      }
      int64_t ref_written = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        const bool one = want[i].dt == GCCPU_F64 ? s[i] == 1.0 : static_cast<float>(s[i]) == 1.0f;
        if (!one) ref_written += want[i].n;
        ref_scale(want[i], s[i]);
      }
      auto t = table(bufs);
      int64_t written = 0;
      CHECK(gccpu_scale(t.data(), static_cast<int64_t>(t.size()), 0, total_chunks, s.data(), &written) == GCCPU_OK, "scale rc");
      CHECK(written == ref_written, "scale written %ld vs %ld", static_cast<long>(written), static_cast<long>(ref_written));
      for (size_t i = 0; i < bufs.size(); ++i) {
        if (same_memory(bufs[i], want[i])) continue;
        int64_t at = -1;
        for (size_t k = 0; k < bufs[i].mem.size(); ++k) if (bufs[i].mem[k] != want[i].mem[k]) { at = static_cast<int64_t>(k); break; }
        CHECK(false, "%s scale isa=%s dt=%d tensor %zu (scale %g) differs at byte %ld", what, gccpu_isa_name(isa), dt, i, s[i], static_cast<long>(at));
      }
    }
  }
}

// The tensors of one arena, 16 bytes apart, in table order (ascending addresses) or in reverse (tensor
// i+1 just below tensor i, as a JVM's collector leaves an array of arrays' elements): the walk prefetches
// past a chunk's end into a tensor that follows and visits a block of tensors in their memory order
// (cpu_api.cpp). Norm partials (two calls split at a random chunk; a NaN partial as NaN), clamp counts and
// memory, and scale memory must equal those of the same tensors in separate buffers, bit for bit, on every
// path.
void arena_case(std::mt19937_64& r, const std::vector<int64_t>& sizes, int dt, int values, bool descending) {
  const size_t T = sizes.size();
  std::vector<Buf> base(T);
  for (size_t i = 0; i < T; ++i) fill(base[i], dt, sizes[i], values, r);
  std::vector<size_t> off(T);
  size_t at = 64;
  for (size_t j = 0; j < T; ++j) {
    const size_t i = descending ? T - 1 - j : j;
    off[i] = at;
    at += (static_cast<size_t>(sizes[i]) * static_cast<size_t>(esize(dt)) + 15) / 16 * 16 + 16;
  }
  std::vector<unsigned char> arena(at + 64);
  auto arena_table = [&] {
    std::vector<gccpu_tensor> t(T);
    for (size_t i = 0; i < T; ++i) {
      std::memcpy(arena.data() + off[i], base[i].data(), static_cast<size_t>(sizes[i]) * static_cast<size_t>(esize(dt)));
      t[i] = gccpu_tensor{arena.data() + off[i], sizes[i], dt, 0};
    }
    return t;
  };
  auto same_tensors = [&](std::vector<Buf>& bufs) {
    for (size_t i = 0; i < T; ++i)
      if (std::memcmp(arena.data() + off[i], bufs[i].data(), static_cast<size_t>(sizes[i]) * static_cast<size_t>(esize(dt))) != 0) return false;
    return true;
  };
  int64_t total = 0;
  for (int64_t n : sizes) total += chunks_of(n);
  const char* order = descending ? "descending" : "ascending";
  for (int isa = GCCPU_ISA_SCALAR; isa <= GCCPU_ISA_AVX512; ++isa) {
    if (!gccpu_isa_supported(isa)) continue;
    gccpu_set_isa(isa);
    for (int kind = 1; kind <= 3; ++kind) {
      std::vector<Buf> bufs = base;
      auto tb = table(bufs);
      auto ta = arena_table();
      std::vector<double> want(static_cast<size_t>(total) + 1, -1.0), got(static_cast<size_t>(total) + 1, -1.0);
      int64_t nfw = 0, nfg = 0;
      CHECK(gccpu_norms(tb.data(), static_cast<int64_t>(T), 0, total, kind, want.data(), &nfw) == GCCPU_OK, "arena norms rc");
      const int64_t split = static_cast<int64_t>(r() % static_cast<uint64_t>(total + 1));
      int64_t ti = 0, acc = 0;
      while (ti < static_cast<int64_t>(T) && acc + chunks_of(ta[ti].count) <= split) acc += chunks_of(ta[ti++].count);
      CHECK(gccpu_norms(ta.data(), static_cast<int64_t>(T), 0, split, kind, got.data(), &nfg) == GCCPU_OK, "arena norms rc 1");
      if (split < total)
        CHECK(gccpu_norms(ta.data() + ti, static_cast<int64_t>(T) - ti, split - acc, total - split, kind, got.data() + split, &nfg) == GCCPU_OK,
              "arena norms rc 2");
      bool same = nfw == nfg && got[static_cast<size_t>(total)] == -1.0;
      // a NaN partial only as NaN, as everywhere here: docs/canonical-reduction.md makes NaN partials canonical
      // (which NaN operand an add returns is the compiler's choice of operand order)
      for (int64_t c = 0; c < total; ++c) {
        const double w = want[static_cast<size_t>(c)], g = got[static_cast<size_t>(c)];
        same = same && (dbits(w) == dbits(g) || (w != w && g != g));
      }
      CHECK(same, "arena (%s) norms isa=%s dt=%d kind=%d: partials differ from separate buffers", order, gccpu_isa_name(isa), dt, kind);
    }
    {
      gccpu_bounds B{-0.5, 0.75, -0.5f, 0.75f, ref_f2h(-0.5f), ref_f2h(0.75f), ref_f2b(-0.5f), ref_f2b(0.75f)};
      std::vector<Buf> bufs = base;
      auto tb = table(bufs);
      auto ta = arena_table();
      int64_t cw[3] = {0, 0, 0}, cg[3] = {0, 0, 0};
      CHECK(gccpu_clamp(tb.data(), static_cast<int64_t>(T), 0, total, &B, cw) == GCCPU_OK, "arena clamp rc");
      CHECK(gccpu_clamp(ta.data(), static_cast<int64_t>(T), 0, total, &B, cg) == GCCPU_OK, "arena clamp rc");
      CHECK(cw[0] == cg[0] && cw[1] == cg[1] && cw[2] == cg[2] && same_tensors(bufs), "arena (%s) clamp isa=%s dt=%d differs", order,
            gccpu_isa_name(isa), dt);
    }
    {
      std::vector<double> sc(T);
      for (auto& v : sc) v = r() % 4 == 0 ? 1.0 : 1.5;
      std::vector<Buf> bufs = base;
      auto tb = table(bufs);
      auto ta = arena_table();
      int64_t ww = 0, wg = 0;
      CHECK(gccpu_scale(tb.data(), static_cast<int64_t>(T), 0, total, sc.data(), &ww) == GCCPU_OK, "arena scale rc");
      CHECK(gccpu_scale(ta.data(), static_cast<int64_t>(T), 0, total, sc.data(), &wg) == GCCPU_OK, "arena scale rc");
      CHECK(ww == wg && same_tensors(bufs), "arena (%s) scale isa=%s dt=%d differs", order, gccpu_isa_name(isa), dt);
    }
  }
}

// Every fp16 and bf16 bit pattern through the lane loops that read 16-bit rows in place (rows 1-4 of a
// chunk), bit for bit against the reference on every ISA. One tensor per exponent field: rows 1-4 hold
// that binade's patterns (both signs) cycled, the other rows +0.0, so each lane adds terms of one binade
// and a wrong term (say, x*x formed in fp32 where it is not exact) would show in the partial's last
// bits. The binade of infinities and NaNs gives non-finite partials (their NaN is not compared).
// Tensors of one chunk each: every norm kind's partial on every path, bit for bit against the reference
// (a NaN partial only as NaN: docs/canonical-reduction.md makes NaN partials canonical).
void check_one_chunk_tensors(std::vector<Buf>& bufs, const char* what) {
  for (int isa = GCCPU_ISA_SCALAR; isa <= GCCPU_ISA_AVX512; ++isa) {
    if (!gccpu_isa_supported(isa)) continue;
    CHECK(gccpu_set_isa(isa) == GCCPU_OK, "set isa %d", isa);
    auto t = table(bufs);
    for (int kind = 1; kind <= 3; ++kind) {
      std::vector<double> part(bufs.size());
      int64_t nf = 0;
      CHECK(gccpu_norms(t.data(), static_cast<int64_t>(t.size()), 0, static_cast<int64_t>(t.size()), kind, part.data(), &nf) == GCCPU_OK,
            "norms rc");
      for (size_t j = 0; j < bufs.size(); ++j) {
        const double want = ref_chunk(kind, bufs[j].data(), bufs[j].dt, 0, bufs[j].n);
        const bool ok = std::isnan(want) ? std::isnan(part[j]) : dbits(want) == dbits(part[j]);
        CHECK(ok, "%s: isa=%s dt=%d kind=%d tensor %zu: %.17g vs ref %.17g", what, gccpu_isa_name(isa), bufs[j].dt, kind, j, part[j], want);
      }
    }
  }
}

// The same for short chunks (one element per lane, folded straight from registers on AVX-512): every
// pattern of a binade in tensors of 1,000 elements (the last shorter), so that masked tails are covered.
void exhaustive_half_short() {
  for (int dt : {GCCPU_F16, GCCPU_BF16}) {
    const int mant_bits = dt == GCCPU_F16 ? 10 : 7, exps = dt == GCCPU_F16 ? 32 : 256, per = 2 << mant_bits;
    std::vector<Buf> bufs;
    for (int e = 0; e < exps; ++e) {
      for (int first = 0; first < per; first += 1000) {
        Buf b;
        b.dt = dt;
        b.n = std::min(1000, per - first);
        b.mis = static_cast<int>(bufs.size() % 32);
        b.mem.assign(static_cast<size_t>(64 + (b.n + 32) * 2 + 64), 0);
        uint16_t* h = static_cast<uint16_t*>(b.data());
        for (int i = 0; i < b.n; ++i) {
          const int k = first + i;
          h[i] = static_cast<uint16_t>(((k & 1) << 15) | (e << mant_bits) | (k >> 1));
        }
        bufs.push_back(b);
      }
    }
    check_one_chunk_tensors(bufs, "every 16-bit pattern, short chunks");
  }
}

void exhaustive_half_terms() {
  for (int dt : {GCCPU_F16, GCCPU_BF16}) {
    const int mant_bits = dt == GCCPU_F16 ? 10 : 7, exps = dt == GCCPU_F16 ? 32 : 256;
    std::vector<Buf> bufs(static_cast<size_t>(exps));
    for (int e = 0; e < exps; ++e) {
      Buf& b = bufs[static_cast<size_t>(e)];
      b.dt = dt;
      b.n = 8 * 1024;
      b.mis = e % 32;
      b.mem.assign(static_cast<size_t>(64 + (b.n + 32) * 2 + 64), 0);
      uint16_t* h = static_cast<uint16_t*>(b.data());
      const int per = 2 << mant_bits;  // patterns in the binade, both signs
      for (int i = 0; i < 4 * 1024; ++i) {
        const int k = i % per;
        h[1024 + i] = static_cast<uint16_t>(((k & 1) << 15) | (e << mant_bits) | (k >> 1));
      }
    }
    check_one_chunk_tensors(bufs, "every 16-bit pattern");
  }
}

void bad_arguments() {
  float x[4] = {1, 2, 3, 4};
  gccpu_tensor t{x, 4, GCCPU_F32, 0};
  double part[2];
  int64_t nf = 0, counts[3] = {0, 0, 0};
  CHECK(gccpu_norms(&t, 1, 0, 2, 2, part, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "range past the end");
  CHECK(gccpu_norms(&t, 1, 1, 1, 2, part, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "first chunk past the end");
  CHECK(gccpu_norms(&t, 1, 0, 1, 7, part, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "bad kind");
  CHECK(gccpu_norms(nullptr, 1, 0, 1, 2, part, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "null table");
  CHECK(gccpu_norms(&t, 1, 0, 1, 2, nullptr, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "null out");
  CHECK(gccpu_norms(&t, 1, 0, -1, 2, part, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "negative count");
  gccpu_tensor bad{x, -1, GCCPU_F32, 0};
  CHECK(gccpu_count_nonfinite(&bad, 1, 0, 1, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "negative size");
  gccpu_tensor baddt{x, 4, 9, 0};
  CHECK(gccpu_count_nonfinite(&baddt, 1, 0, 1, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "bad dtype");
  gccpu_tensor nul{nullptr, 4, GCCPU_F32, 0};
  CHECK(gccpu_count_nonfinite(&nul, 1, 0, 1, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "null data");
  gccpu_tensor mis{reinterpret_cast<char*>(x) + 1, 2, GCCPU_F32, 0};
  CHECK(gccpu_count_nonfinite(&mis, 1, 0, 1, &nf) == GCCPU_ERR_INVALID_ARGUMENT, "misaligned data");
  gccpu_bounds B{1.0, -1.0, 1.0f, -1.0f, 0, 0, 0, 0};
  CHECK(gccpu_clamp(&t, 1, 0, 1, &B, counts) == GCCPU_ERR_INVALID_ARGUMENT, "lo > hi");
  gccpu_bounds N{NAN, 1.0, NAN, 1.0f, 0, 0, 0, 0};
  CHECK(gccpu_clamp(&t, 1, 0, 1, &N, counts) == GCCPU_ERR_INVALID_ARGUMENT, "NaN bound");
  CHECK(gccpu_set_isa(17) == GCCPU_ERR_INVALID_ARGUMENT, "bad isa");
  CHECK(x[0] == 1 && x[3] == 4 && nf == 0 && counts[0] == 0, "bad calls touched something");
  // an empty range is fine with any table, even none
  CHECK(gccpu_norms(nullptr, 0, 0, 0, 2, nullptr, &nf) == GCCPU_OK, "empty range");
}

// ---------------------------------------------------------------------------------------------- bench
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class F> double best_of(int reps, F&& f) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const double t0 = now();
    f();
    best = std::min(best, now() - t0);
  }
  return best;
}

void bench() {
  const int64_t n = int64_t{1} << 27;  // 128 M fp32 = 512 MiB (gpt2-small has 124.4 M)
  const int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  std::vector<uint16_t> h(static_cast<size_t>(n));
  std::mt19937 r(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) { a[i] = u(r); h[i] = ref_f2b(a[i]); }
  b = a;
  const int64_t chunks = chunks_of(n);
  auto par = [&](auto&& body) {  // contiguous halves of the chunk range, one thread each
    std::vector<std::thread> th;
    for (int k = 0; k < threads; ++k) {
      const int64_t c0 = chunks * k / threads, c1 = chunks * (k + 1) / threads;
      th.emplace_back([&, c0, c1] { body(c0, c1); });
    }
    for (auto& x : th) x.join();
  };
  std::printf("# %ld fp32 elements (%.0f MiB), %d threads, best of 5; GB/s counts the minimal bytes\n", static_cast<long>(n), n * 4 / 1048576.0, threads);
  const double bytes = static_cast<double>(n) * 4;
  double sink = 0;
  const double t_read = best_of(5, [&] {
    std::vector<double> part(threads);
    par([&](int64_t c0, int64_t c1) {
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int64_t i = c0 * GCCPU_CHUNK; i < std::min(n, c1 * GCCPU_CHUNK); i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
      part[c0 * threads / chunks] = s0 + s1 + s2 + s3;
    });
    for (double v : part) sink += v;
  });
  const double t_copy = best_of(5, [&] { par([&](int64_t c0, int64_t c1) {
      const int64_t e = std::min(n, c1 * GCCPU_CHUNK);
      std::memcpy(&b[c0 * GCCPU_CHUNK], &a[c0 * GCCPU_CHUNK], static_cast<size_t>(e - c0 * GCCPU_CHUNK) * 4); }); });
  const double t_scale = best_of(5, [&] { par([&](int64_t c0, int64_t c1) {
      for (int64_t i = c0 * GCCPU_CHUNK, e = std::min(n, c1 * GCCPU_CHUNK); i < e; ++i) b[i] *= 0.999f; }); });
  std::printf("floor  read (sum)         %7.1f ms  %6.1f GB/s\n", t_read * 1e3, bytes / t_read / 1e9);
  std::printf("floor  copy (memcpy)      %7.1f ms  %6.1f GB/s (read+write)\n", t_copy * 1e3, 2 * bytes / t_copy / 1e9);
  std::printf("floor  scale in place     %7.1f ms  %6.1f GB/s (read+write)\n", t_scale * 1e3, 2 * bytes / t_scale / 1e9);
  gccpu_tensor t{a.data(), n, GCCPU_F32, 0};
  gccpu_tensor tb{h.data(), n, GCCPU_BF16, 0};
  for (int isa = GCCPU_ISA_SCALAR; isa <= GCCPU_ISA_AVX512; ++isa) {
    if (!gccpu_isa_supported(isa)) continue;
    gccpu_set_isa(isa);
    std::vector<double> part(static_cast<size_t>(chunks));
    const double tn = best_of(5, [&] { par([&](int64_t c0, int64_t c1) { int64_t nf = 0; gccpu_norms(&t, 1, c0, c1 - c0, 2, part.data() + c0, &nf); }); });
    const double tnb = best_of(5, [&] { par([&](int64_t c0, int64_t c1) { int64_t nf = 0; gccpu_norms(&tb, 1, c0, c1 - c0, 2, part.data() + c0, &nf); }); });
    std::vector<double> sc{0.5};
    const double ts = best_of(5, [&] { par([&](int64_t c0, int64_t c1) { int64_t w = 0; gccpu_scale(&t, 1, c0, c1 - c0, sc.data(), &w); }); });
    const double tsb = best_of(5, [&] { par([&](int64_t c0, int64_t c1) { int64_t w = 0; gccpu_scale(&tb, 1, c0, c1 - c0, sc.data(), &w); }); });
    std::printf("%-7s norms L2 fp32         %7.1f ms  %6.1f GB/s   bf16 %7.1f ms %6.1f GB/s\n", gccpu_isa_name(isa), tn * 1e3, bytes / tn / 1e9, tnb * 1e3, bytes / 2 / tnb / 1e9);
    std::printf("%-7s scale fp32            %7.1f ms  %6.1f GB/s   bf16 %7.1f ms %6.1f GB/s\n", gccpu_isa_name(isa), ts * 1e3, 2 * bytes / ts / 1e9, tsb * 1e3, bytes / tsb / 1e9);
    for (double frac : {0.0, 0.01, 0.05, 0.3, 0.9}) {
      // bound so that about frac of uniform(-1,1) values are outside: |x| > 1 - frac
      const double bound = 1.0 - frac;
      gccpu_bounds B{-bound, bound, static_cast<float>(-bound), static_cast<float>(bound), 0, 0, 0, 0};
      const double tc = best_of(3, [&] {
        std::memcpy(b.data(), a.data(), static_cast<size_t>(n) * 4);  // fresh data, untimed below
      });
      (void)tc;
      double total = 0;
      for (int rep = 0; rep < 3; ++rep) {
        std::memcpy(b.data(), a.data(), static_cast<size_t>(n) * 4);
        gccpu_tensor tbb{b.data(), n, GCCPU_F32, 0};
        const double t0 = now();
        par([&](int64_t c0, int64_t c1) { int64_t cnt[3] = {0, 0, 0}; gccpu_clamp(&tbb, 1, c0, c1 - c0, &B, cnt); });
        const double dt = now() - t0;
        total = rep == 0 ? dt : std::min(total, dt);
      }
      std::printf("%-7s clamp fp32 %4.0f%% out  %7.1f ms  %6.1f GB/s (8 B/elem)\n", gccpu_isa_name(isa), frac * 100, total * 1e3, 2 * bytes / total / 1e9);
    }
  }
  // many small: 10,000 tensors of 1,000 fp32, one call per thread
  {
    const int nt = 10000, len = 1000;
    std::vector<float> m(static_cast<size_t>(nt) * len);
    for (auto& v : m) v = u(r);
    std::vector<gccpu_tensor> tab(nt);
    for (int i = 0; i < nt; ++i) tab[i] = gccpu_tensor{m.data() + static_cast<size_t>(i) * len, len, GCCPU_F32, 0};
    std::vector<double> part(nt);
    for (int isa = GCCPU_ISA_SCALAR; isa <= GCCPU_ISA_AVX512; ++isa) {
      if (!gccpu_isa_supported(isa)) continue;
      gccpu_set_isa(isa);
      const double tm = best_of(20, [&] { int64_t nf = 0; gccpu_norms(tab.data(), nt, 0, nt, 2, part.data(), &nf); });
      std::printf("%-7s many-small norms 1 thread: %.3f ms = %.0f ns per 1,000-element tensor (%.1f GB/s)\n", gccpu_isa_name(isa), tm * 1e3, tm / nt * 1e9,
                  4.0 * nt * len / tm / 1e9);
    }
  }
  if (sink == 12345) std::printf(" ");
}

}  // namespace

// Cache-resident compute throughput (one thread, 4 chunks = 1 MiB of fp32, repeated): whether a kernel
// can keep up with memory at all, independent of the machine's bandwidth and load.
void compute() {
  const int64_t n = 4 * GCCPU_CHUNK;
  std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  std::vector<uint16_t> h(static_cast<size_t>(n)), hh(static_cast<size_t>(n));
  std::mt19937 r(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) { a[i] = u(r); h[i] = ref_f2b(a[i]); }
  std::printf("# cache-resident, 1 thread, GB/s of element bytes read (best of 30 x 4 chunks)\n");
  for (int isa = GCCPU_ISA_SCALAR; isa <= GCCPU_ISA_AVX512; ++isa) {
    if (!gccpu_isa_supported(isa)) continue;
    gccpu_set_isa(isa);
    double part[4];
    int64_t nf = 0, cnt[3] = {0, 0, 0}, w = 0;
    gccpu_tensor t{a.data(), n, GCCPU_F32, 0}, tb{h.data(), n, GCCPU_BF16, 0};
    gccpu_tensor ts{b.data(), n, GCCPU_F32, 0}, thb{hh.data(), n, GCCPU_BF16, 0};
    gccpu_tensor tf{h.data(), n, GCCPU_F16, 0};
    const double sc[1] = {0.999};
    const double t2 = best_of(30, [&] { gccpu_norms(&t, 1, 0, 4, 2, part, &nf); });
    const double t1 = best_of(30, [&] { gccpu_norms(&t, 1, 0, 4, 1, part, &nf); });
    const double ti = best_of(30, [&] { gccpu_norms(&t, 1, 0, 4, 3, part, &nf); });
    const double tb2 = best_of(30, [&] { gccpu_norms(&tb, 1, 0, 4, 2, part, &nf); });
    const double tf2 = best_of(30, [&] { gccpu_norms(&tf, 1, 0, 4, 2, part, &nf); });
    b = a;
    const double tsc = best_of(30, [&] { gccpu_scale(&ts, 1, 0, 4, sc, &w); });
    hh = h;
    const double tsb = best_of(30, [&] { gccpu_scale(&thb, 1, 0, 4, sc, &w); });
    gccpu_bounds B0{-2, 2, -2.0f, 2.0f, 0, 0, 0, 0}, B1{-0.99, 0.99, -0.99f, 0.99f, 0, 0, 0, 0}, B3{-0.7, 0.7, -0.7f, 0.7f, 0, 0, 0, 0};
    auto clampt = [&](gccpu_bounds& B) { double best = 1e30; for (int i = 0; i < 30; ++i) { b = a; const double t0 = now(); gccpu_clamp(&ts, 1, 0, 4, &B, cnt); best = std::min(best, now() - t0); } return best; };
    const double c0 = clampt(B0), c1 = clampt(B1), c3 = clampt(B3);
    const double gb = 4.0 * n / 1e9;
    {  // many small, cache-resident: 256 tensors of 1,000 fp32 (1 MB), one call
      std::vector<gccpu_tensor> tab(256);
      for (int i = 0; i < 256; ++i) tab[i] = gccpu_tensor{a.data() + i * 1000, 1000, GCCPU_F32, 0};
      std::vector<double> pp(256);
      const double tm = best_of(30, [&] { gccpu_norms(tab.data(), 256, 0, 256, 2, pp.data(), &nf); });
      std::vector<gccpu_tensor> tab1(256);
      for (int i = 0; i < 256; ++i) tab1[i] = gccpu_tensor{a.data() + i * 1000, 1, GCCPU_F32, 0};
      const double t1e = best_of(30, [&] { gccpu_norms(tab1.data(), 256, 0, 256, 2, pp.data(), &nf); });
      std::printf("%-7s many-small L2: %.0f ns per 1,000-element tensor, %.0f ns per 1-element tensor\n", gccpu_isa_name(isa), tm / 256 * 1e9,
                  t1e / 256 * 1e9);
    }
    std::printf("%-7s norms L2 %5.1f L1 %5.1f inf %5.1f | bf16 L2 %5.1f fp16 L2 %5.1f | scale %5.1f bf16 %5.1f | clamp 0%% %5.1f 1%% %5.1f 30%% %5.1f GB/s\n",
                gccpu_isa_name(isa), gb / t2, gb / t1, gb / ti, gb / 2 / tb2, gb / 2 / tf2, gb / tsc, gb / 2 / tsb, gb / c0, gb / c1, gb / c3);
  }
}

// Memory-bound comparison under a fluctuating load: the floor (read, copy) and the kernels of the default
// path, interleaved rep by rep over the same 512 MiB, both threads, best of each.
void floor_vs_kernels() {
  const int64_t n = int64_t{1} << 27;
  const int threads = static_cast<int>(std::thread::hardware_concurrency());
  std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  std::mt19937 r(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) a[i] = u(r);
  b = a;
  const int64_t chunks = chunks_of(n);
  auto par = [&](auto&& body) {
    std::vector<std::thread> th;
    for (int k = 0; k < threads; ++k) {
      const int64_t c0 = chunks * k / threads, c1 = chunks * (k + 1) / threads;
      th.emplace_back([&, c0, c1] { body(c0, c1); });
    }
    for (auto& x : th) x.join();
  };
  auto timed = [&](auto&& f) { const double t0 = now(); f(); return now() - t0; };
  double best[6];
  for (double& x : best) x = 1e30;
  std::vector<double> part(static_cast<size_t>(chunks)), sums(threads);
  gccpu_tensor ta{a.data(), n, GCCPU_F32, 0}, tb{b.data(), n, GCCPU_F32, 0};
  const double sc[1] = {0.999};
  gccpu_bounds B{-0.99, 0.99, -0.99f, 0.99f, 0, 0, 0, 0};
  for (int rep = 0; rep < 7; ++rep) {
    best[0] = std::min(best[0], timed([&] { par([&](int64_t c0, int64_t c1) {
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      const float* x = a.data();
      for (int64_t i = c0 * GCCPU_CHUNK, e = std::min(n, c1 * GCCPU_CHUNK); i < e; i += 8) {
        s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3]; s4 += x[i + 4]; s5 += x[i + 5]; s6 += x[i + 6]; s7 += x[i + 7]; }
      sums[c0 * threads / chunks] = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7; }); }));
    best[1] = std::min(best[1], timed([&] { par([&](int64_t c0, int64_t c1) { int64_t nf = 0; gccpu_norms(&ta, 1, c0, c1 - c0, 2, part.data() + c0, &nf); }); }));
    best[2] = std::min(best[2], timed([&] { par([&](int64_t c0, int64_t c1) {
      const int64_t e = std::min(n, c1 * GCCPU_CHUNK);
      std::memcpy(&b[c0 * GCCPU_CHUNK], &a[c0 * GCCPU_CHUNK], static_cast<size_t>(e - c0 * GCCPU_CHUNK) * 4); }); }));
    best[3] = std::min(best[3], timed([&] { par([&](int64_t c0, int64_t c1) { int64_t w = 0; gccpu_scale(&tb, 1, c0, c1 - c0, sc, &w); }); }));
    std::memcpy(b.data(), a.data(), static_cast<size_t>(n) * 4);
    best[4] = std::min(best[4], timed([&] { par([&](int64_t c0, int64_t c1) { int64_t cnt[3] = {0, 0, 0}; gccpu_clamp(&tb, 1, c0, c1 - c0, &B, cnt); }); }));
    gccpu_bounds B30{-0.7, 0.7, -0.7f, 0.7f, 0, 0, 0, 0};
    std::memcpy(b.data(), a.data(), static_cast<size_t>(n) * 4);
    best[5] = std::min(best[5], timed([&] { par([&](int64_t c0, int64_t c1) { int64_t cnt[3] = {0, 0, 0}; gccpu_clamp(&tb, 1, c0, c1 - c0, &B30, cnt); }); }));
  }
  const double gb = 4.0 * n / 1e9;
  std::printf("# 512 MiB fp32, %d threads, path %s, interleaved, best of 7 (GB/s of minimal bytes)\n", threads, gccpu_isa_name(gccpu_isa()));
  std::printf("floor read (8 accumulators) %6.1f GB/s | norms L2 %6.1f GB/s (%.0f%% of it)\n", gb / best[0], gb / best[1], 100 * best[0] / best[1]);
  std::printf("floor memcpy (r+w)          %6.1f GB/s | scale    %6.1f GB/s (%.0f%%) | clamp 1%% %6.1f GB/s (%.0f%%), 30%% %6.1f GB/s (%.0f%%)\n",
              2 * gb / best[2], 2 * gb / best[3], 100 * best[2] / best[3], 2 * gb / best[4], 100 * best[2] / best[4], 2 * gb / best[5], 100 * best[2] / best[5]);
  if (sums[0] == 12345) std::printf(" ");
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--floor") == 0) {
    floor_vs_kernels();
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--compute") == 0) {
    compute();
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--bench") == 0) {
    bench();
    return 0;
  }
  const bool quick = std::getenv("GC_TEST_QUICK") != nullptr;
  std::printf("gradclip_cpu_test: paths here:");
  for (int isa = 0; isa <= 2; ++isa) if (gccpu_isa_supported(isa)) std::printf(" %s", gccpu_isa_name(isa));
  std::printf(" (default %s)\n", gccpu_isa_name(gccpu_isa()));
  const int default_isa = gccpu_isa();
  bad_arguments();
  exhaustive_half_terms();
  exhaustive_half_short();
  std::mt19937_64 r(42);
  const int64_t C = GCCPU_CHUNK;
  const std::vector<int64_t> boundary = {0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 1023, 1024, 1025, 2047, 4095, 4096, 4097, 5000,
                                         C - 1, C, C + 1, 2 * C + 3};
  for (int dt = 0; dt < 4; ++dt)
    for (int values = 0; values < 6; ++values) {
      for (int64_t n : boundary) run_case(r, {n}, dt, values, "boundary");
      run_case(r, boundary, dt, values, "all boundary sizes");
    }
  // many small tensors, empty ones among them: the walk prefetches several tensors ahead of the one it
  // runs (never past the range's last chunk, which ASan checks against the table's end)
  for (int dt = 0; dt < 4; ++dt) {
    const int64_t small[] = {0, 0, 1, 3, 100, 1000, 1023, 1024, 4097};
    std::vector<int64_t> sizes(300);
    for (auto& n : sizes) n = small[r() % 9];
    run_case(r, sizes, dt, static_cast<int>(r() % 6), "many small");
  }
  // tensors one after another in one arena, ascending and descending (more than one visit block of 128)
  for (int dt = 0; dt < 4; ++dt)
    for (int descending = 0; descending < 2; ++descending) {
      const int64_t sizes_of[] = {0, 1, 17, 1000, 1000, 1000, 4097, C + 5};
      std::vector<int64_t> sizes(quick ? 150 : 300);
      for (auto& n : sizes) n = sizes_of[r() % 8];
      arena_case(r, sizes, dt, static_cast<int>(r() % 6), descending != 0);
    }
  const int random_cases = quick ? 150 : 1500;
  for (int i = 0; i < random_cases; ++i) {
    std::vector<int64_t> sizes(r() % 7);
    for (auto& n : sizes) {
      switch (r() % 5) {
        case 0: n = static_cast<int64_t>(r() % 8); break;
        case 1: n = static_cast<int64_t>(r() % 2048); break;
        case 2: n = C + static_cast<int64_t>(r() % 7) - 3; break;
        default: n = static_cast<int64_t>(r() % 5000); break;
      }
    }
    run_case(r, sizes, static_cast<int>(r() % 4), static_cast<int>(r() % 6), "random");
  }
  gccpu_set_isa(default_isa);
  std::printf("gradclip_cpu_test: %ld checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
