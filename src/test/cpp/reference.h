// reference.h - a plain C++ reference implementation of docs/canonical-reduction.md (terms, the
// 1,024-lane fold at three levels, norms incl. general p, scales, the NaN rule, clip by value), used by
// the emulated-kernel harness (harness.cpp), the launch-plan test (kernel_test.cpp) and the GPU check
// driver (scripts/gpu/gc_check.cpp). The library side they compare it with is composed_ops.h.
// Header-only; everything is in namespace gcref.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

#include "gradclip.h"

namespace gcref {

// The operations of the reference (the former gc_run op codes; composed from the passes in composed_ops.h).
enum { GC_OP_CLIP_VALUE = 0, GC_OP_NORMS = 1, GC_OP_CLIP_NORM = 2, GC_OP_CLIP_GLOBAL_NORM = 3, GC_OP_RENORMALIZE = 4 };
// ====================================================================================================
// Reference implementation
// ====================================================================================================
inline uint64_t dbits(double d) { uint64_t u; std::memcpy(&u, &d, 8); return u; }
inline uint32_t fbits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float fromfbits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// double -> binary format (ebits, mbits) with one RNE rounding, via nearbyint on exact scalings.
inline uint16_t ref_to_small(double x, int ebits, int mbits) {
  const int bias = (1 << (ebits - 1)) - 1, emin = 1 - bias;
  const uint32_t sign = std::signbit(x) ? 1u << (ebits + mbits) : 0u;
  const uint32_t inf = ((1u << ebits) - 1u) << mbits;
  if (std::isnan(x)) return static_cast<uint16_t>(sign | inf | (1u << (mbits - 1)));
  const double ax = std::fabs(x);
  const double overflow = std::ldexp(2.0 - std::ldexp(1.0, -(mbits + 1)), bias);
  if (ax >= overflow) return static_cast<uint16_t>(sign | inf);
  if (ax < std::ldexp(1.0, emin)) {
    const double q = std::nearbyint(std::ldexp(ax, mbits - emin));
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(q));
  }
  int E;
  std::frexp(ax, &E);
  const int e = E - 1;
  const double q = std::nearbyint(std::ldexp(ax, mbits - e));
  const uint32_t b = (static_cast<uint32_t>(e + bias) << mbits) + static_cast<uint32_t>(q) - (1u << mbits);
  return static_cast<uint16_t>(sign | b);
}
inline double ref_from_small(uint16_t h, int ebits, int mbits) {
  const int bias = (1 << (ebits - 1)) - 1;
  const bool neg = (h >> (ebits + mbits)) & 1;
  const uint32_t e = (h >> mbits) & ((1u << ebits) - 1u), m = h & ((1u << mbits) - 1u);
  double v;
  if (e == (1u << ebits) - 1u && m) {  // NaN: widen through fp32 keeping sign and payload, as the kernels do
    const uint32_t f = ebits == 5 ? (static_cast<uint32_t>(neg) << 31) | 0x7f800000u | (m << 13) : static_cast<uint32_t>(h) << 16;
    return static_cast<double>(fromfbits(f));
  }
  if (e == (1u << ebits) - 1u) v = std::numeric_limits<double>::infinity();
  else if (e == 0) v = std::ldexp(static_cast<double>(m), 1 - bias - mbits);
  else v = std::ldexp(static_cast<double>((1u << mbits) + m), static_cast<int>(e) - bias - mbits);
  return neg ? -v : v;
}

// Large tensors (the GPU check's 2^31-element case) are worked on by every core: each index below is a
// whole chunk (or a 65,536-element range) with its own output slot, and the slots are combined afterwards
// in the canonical order, so the bits are those of one thread. Tensors under parallel_min() elements
// stay on the calling thread (the tests set it to 0 to check the threaded path against the serial one).
inline int64_t& parallel_min() { static int64_t v = int64_t{1} << 22; return v; }
template <class F>
void for_each_index(int64_t n, bool threaded, F f) {
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
  if (!threaded || hw == 1 || n < 2) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<int64_t> next{0};
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < std::min(hw, n); ++t)
    pool.emplace_back([&] { for (int64_t i; (i = next.fetch_add(1)) < n;) f(i); });
  for (auto& th : pool) th.join();
}

inline int esize(int dt) { return dt == GC_FLOAT64 ? 8 : dt == GC_FLOAT32 ? 4 : 2; }

struct Tensor {
  int dtype = GC_FLOAT32;
  int64_t count = 0;
  int misalign = 0;               // elements of offset from a 64-byte boundary
  std::vector<uint64_t> storage;  // 8-byte aligned backing
  Tensor() = default;
  Tensor(const Tensor& o) { *this = o; }
  Tensor& operator=(const Tensor& o) {  // copies the elements, realigned (base() depends on the allocation)
    if (this == &o) return *this;
    dtype = o.dtype; count = o.count; misalign = o.misalign;
    alloc();
    std::memcpy(base(), o.base(), static_cast<size_t>(count * esize(dtype)));
    return *this;
  }
  Tensor(Tensor&&) = default;
  Tensor& operator=(Tensor&&) = default;
  // 64-byte aligned start plus `misalign` elements
  char* base() { return const_cast<char*>(static_cast<const Tensor*>(this)->base()); }
  const char* base() const {
    const uintptr_t p = (reinterpret_cast<uintptr_t>(storage.data()) + 63) & ~static_cast<uintptr_t>(63);
    return reinterpret_cast<const char*>(p) + static_cast<int64_t>(misalign) * esize(dtype);
  }
  void alloc() { storage.assign(static_cast<size_t>((count + 2) * esize(dtype) / 8 + 10), 0); }
  double get(int64_t i) const {
    const char* p = base() + i * esize(dtype);
    switch (dtype) {
      case GC_FLOAT32: { float f; std::memcpy(&f, p, 4); return f; }
      case GC_FLOAT64: { double d; std::memcpy(&d, p, 8); return d; }
      case GC_FLOAT16: { uint16_t h; std::memcpy(&h, p, 2); return ref_from_small(h, 5, 10); }
      default: { uint16_t h; std::memcpy(&h, p, 2); return ref_from_small(h, 8, 7); }
    }
  }
  uint64_t raw(int64_t i) const {
    uint64_t u = 0;
    std::memcpy(&u, base() + i * esize(dtype), static_cast<size_t>(esize(dtype)));
    return u;
  }
  void set_raw(int64_t i, uint64_t u) { std::memcpy(base() + i * esize(dtype), &u, static_cast<size_t>(esize(dtype))); }
  // stores a double rounded once to the storage type
  void set(int64_t i, double v) {
    switch (dtype) {
      case GC_FLOAT32: { float f = static_cast<float>(v); set_raw(i, fbits(f)); break; }
      case GC_FLOAT64: set_raw(i, dbits(v)); break;
      case GC_FLOAT16: set_raw(i, ref_to_small(v, 5, 10)); break;
      default: set_raw(i, ref_to_small(v, 8, 7)); break;
    }
  }
  bool is_nan_at(int64_t i) const { return std::isnan(get(i)); }
};

struct Out {
  std::vector<double> norms, scales;
  double summary[2] = {0, 0};
  int64_t counts[3] = {0, 0, 0};
  int rc = 0;
};

inline double comb(double a, double b, bool inf) {
  if (!inf) return a + b;
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  return a > b ? a : b;
}
// reported NaNs are the canonical quiet NaN (docs/canonical-reduction.md)
inline double canon(double x) { return std::isnan(x) ? std::numeric_limits<double>::quiet_NaN() : x; }

// The canonical fold of a sequence given lane by lane.
struct Lanes {
  double L[1024];
  bool inf;
  explicit Lanes(bool inf_) : inf(inf_) { for (double& l : L) l = 0.0; }
  void add(int64_t i, double v) { L[i % 1024] = comb(L[i % 1024], v, inf); }
  double fold() const {
    double T[256];
    for (int t = 0; t < 256; ++t) T[t] = comb(comb(L[4 * t], L[4 * t + 1], inf), comb(L[4 * t + 2], L[4 * t + 3], inf), inf);
    double W[8];
    for (int w = 0; w < 8; ++w) {
      double s[32];
      for (int k = 0; k < 32; ++k) s[k] = T[32 * w + k];
      for (int off = 16; off >= 1; off /= 2)
        for (int k = 0; k < off; ++k) s[k] = comb(s[k], s[k + off], inf);
      W[w] = s[0];
    }
    for (int off = 4; off >= 1; off /= 2)
      for (int k = 0; k < off; ++k) W[k] = comb(W[k], W[k + off], inf);
    return W[0];
  }
};

inline double ref_term(double d, double p) {
  if (p == 2.0) return d * d;
  if (p == 1.0 || std::isinf(p)) return std::fabs(d);
  return std::pow(std::fabs(d), p);
}
inline double ref_finish(double s, double p) {
  if (p == 2.0) return std::sqrt(s);
  if (p == 1.0 || std::isinf(p)) return s;
  return std::pow(s, 1.0 / p);
}
inline double ref_scale(int op, int sem, double N, double M) {
  if (op == GC_OP_RENORMALIZE) return 1.0 / (N == 0.0 ? 1e-5 : N);
  if (sem == GC_SEMANTICS_TORCH) {
    const double c = M / (N + 1e-6);
    if (std::isnan(c)) return c;
    return std::min(c, 1.0);
  }
  if (!std::isfinite(N)) return std::numeric_limits<double>::quiet_NaN();
  if (N == 0.0 && M == 0.0) return 1.0;  // max norm 0, norm 0: scale 1 (TF and Optax write NaN)
  return M / std::max(N, M);
}
inline double ref_applied(double s, int dt) { return dt == GC_FLOAT64 ? s : static_cast<double>(static_cast<float>(s)); }

// y = float(x) * s32, or (float)((double) x * s) when s32 is not a normal float (0, subnormal, inf);
// the NaN rule: a NaN element keeps its bits, quieted; a NaN product is the positive canonical quiet NaN.
inline void ref_scale_range(Tensor& t, double s, int64_t begin, int64_t end) {
  const float s32 = static_cast<float>(s);
  const bool wide = !std::isnan(s32) && !std::isnormal(s32);
  auto mul = [&](double x) -> float {
    return wide ? static_cast<float>(x * s) : static_cast<float>(x) * s32;
  };
  for (int64_t i = begin; i < end; ++i) {
    const uint64_t raw = t.raw(i);
    if (std::isnan(t.get(i))) {  // rule 1
      const uint64_t quiet = t.dtype == GC_FLOAT64 ? 0x0008000000000000ull : t.dtype == GC_FLOAT32 ? 0x00400000ull
                           : t.dtype == GC_FLOAT16 ? 0x0200ull : 0x0040ull;
      t.set_raw(i, raw | quiet);
      continue;
    }
    const uint64_t canon = t.dtype == GC_FLOAT64 ? 0x7ff8000000000000ull : t.dtype == GC_FLOAT32 ? 0x7fc00000ull
                         : t.dtype == GC_FLOAT16 ? 0x7e00ull : 0x7fc0ull;
    switch (t.dtype) {
      case GC_FLOAT64: { const double y = t.get(i) * s; t.set_raw(i, std::isnan(y) ? canon : dbits(y)); break; }
      case GC_FLOAT32: { const float y = mul(t.get(i)); t.set_raw(i, std::isnan(y) ? canon : fbits(y)); break; }
      case GC_FLOAT16: { const float y = mul(t.get(i)); t.set_raw(i, std::isnan(y) ? canon : ref_to_small(static_cast<double>(y), 5, 10)); break; }
      default: { const float y = mul(t.get(i)); t.set_raw(i, std::isnan(y) ? canon : ref_to_small(static_cast<double>(y), 8, 7)); break; }
    }
  }
}
inline void ref_scale_tensor(Tensor& t, double s) {
  for_each_index((t.count + 65535) / 65536, t.count >= parallel_min(),
                 [&](int64_t r) { ref_scale_range(t, s, r * 65536, std::min<int64_t>(t.count, (r + 1) * 65536)); });
}
// the number of NaN/±inf elements
inline int64_t ref_nonfinite(const Tensor& t) {
  std::vector<int64_t> per((t.count + 65535) / 65536, 0);
  for_each_index(static_cast<int64_t>(per.size()), t.count >= parallel_min(), [&](int64_t r) {
    const int64_t e = std::min<int64_t>(t.count, (r + 1) * 65536);
    for (int64_t i = r * 65536; i < e; ++i)
      if (!std::isfinite(t.get(i))) ++per[static_cast<size_t>(r)];
  });
  int64_t nf = 0;
  for (int64_t c : per) nf += c;
  return nf;
}

inline Out ref_run(int op, std::vector<Tensor>& ts, double a, double b, double p, int sem, int pol) {
  Out o;
  const size_t n = ts.size();
  o.norms.assign(n, 0.0);
  o.scales.assign(n, 1.0);
  if (op == GC_OP_CLIP_VALUE) {
    int64_t clipped = 0, nf = 0;
    for (auto& t : ts) nf += ref_nonfinite(t);
    const bool trig = nf > 0 && pol != GC_NONFINITE_PROPAGATE;
    for (auto& t : ts) {
      double lo, hi;
      uint64_t lob, hib;
      switch (t.dtype) {
        case GC_FLOAT64: lo = a; hi = b; lob = dbits(a); hib = dbits(b); break;
        case GC_FLOAT32: lo = static_cast<float>(a); hi = static_cast<float>(b); lob = fbits(static_cast<float>(a)); hib = fbits(static_cast<float>(b)); break;
        // fp16/bf16 bounds: to fp32 first, then to the 16-bit format (as c10::Half(float) does)
        case GC_FLOAT16: lob = ref_to_small(static_cast<float>(a), 5, 10); hib = ref_to_small(static_cast<float>(b), 5, 10); lo = ref_from_small(static_cast<uint16_t>(lob), 5, 10); hi = ref_from_small(static_cast<uint16_t>(hib), 5, 10); break;
        default: lob = ref_to_small(static_cast<float>(a), 8, 7); hib = ref_to_small(static_cast<float>(b), 8, 7); lo = ref_from_small(static_cast<uint16_t>(lob), 8, 7); hi = ref_from_small(static_cast<uint16_t>(hib), 8, 7); break;
      }
      for (int64_t i = 0; i < t.count; ++i) {
        const double x = t.get(i);
        if (std::isnan(x)) continue;
        if (x < lo || x > hi) ++clipped;
        if (trig) continue;
        // torch.clamp on the CPU: t = x < lo ? lo : x; y = hi < t ? hi : t (a value equal to a bound is kept)
        if (x < lo) t.set_raw(i, lob);
        else if (hi < x) t.set_raw(i, hib);
      }
    }
    o.summary[0] = 0.0;
    o.summary[1] = 1.0;
    o.counts[0] = trig ? 0 : clipped;
    o.counts[1] = nf;
    o.counts[2] = trig && pol == GC_NONFINITE_SKIP ? 1 : 0;
    o.rc = trig && pol == GC_NONFINITE_ERROR ? GC_ERR_NONFINITE : GC_OK;
    return o;
  }
  const bool inf = std::isinf(p);
  const bool gen = !(p == 1.0 || p == 2.0 || inf);
  // chunk partials -> tensor sums of f(x) (the canonical fold; nanmax when `max`)
  auto tensor_fold = [&](const Tensor& t, bool max, const std::function<double(double)>& f) {
    std::vector<double> part(static_cast<size_t>((t.count + 65535) / 65536));
    for_each_index(static_cast<int64_t>(part.size()), t.count >= parallel_min(), [&](int64_t c) {
      Lanes cl(max);
      const int64_t s0 = c * 65536, e = std::min<int64_t>(s0 + 65536, t.count);
      for (int64_t i = s0; i < e; ++i) cl.add(i - s0, f(t.get(i)));
      part[static_cast<size_t>(c)] = cl.fold();
    });
    Lanes tl(max);
    for (size_t c = 0; c < part.size(); ++c) tl.add(static_cast<int64_t>(c), part[c]);
    return tl.fold();
  };
  auto special = [](double m) { return m == 0.0 || !std::isfinite(m); };
  std::vector<double> S(n), mx(n, 0.0);
  int64_t nf = 0;
  for (size_t k = 0; k < n; ++k) {
    const Tensor& t = ts[k];
    nf += ref_nonfinite(t);
    if (!gen) {
      S[k] = tensor_fold(t, inf, [&](double d) { return ref_term(d, p); });
    } else {  // general p: m_t = max|x|, then the fold of (|x| / m_t)^p (docs/canonical-reduction.md)
      mx[k] = tensor_fold(t, true, [](double d) { return std::fabs(d); });
      const double m = mx[k];
      S[k] = special(m) ? 0.0 : tensor_fold(t, false, [&](double d) { return std::pow(std::fabs(d) / m, p); });
    }
  }
  auto tnorm = [&](size_t k) { return canon(!gen ? ref_finish(S[k], p) : special(mx[k]) ? mx[k] : mx[k] * std::pow(S[k], 1.0 / p)); };
  double total;
  if (!gen) {
    Lanes all(inf);
    for (size_t k = 0; k < n; ++k) all.add(static_cast<int64_t>(k), S[k]);
    total = ref_finish(all.fold(), p);
  } else {
    Lanes mall(true);
    for (size_t k = 0; k < n; ++k) mall.add(static_cast<int64_t>(k), mx[k]);
    const double M = mall.fold();
    total = M;
    if (!special(M)) {
      Lanes u(false);
      for (size_t k = 0; k < n; ++k) u.add(static_cast<int64_t>(k), mx[k] == 0.0 ? 0.0 : S[k] * std::pow(mx[k] / M, p));
      total = M * std::pow(u.fold(), 1.0 / p);
    }
  }
  total = canon(total);
  const double gscale = canon(op == GC_OP_CLIP_GLOBAL_NORM ? ref_scale(op, sem, total, a) : 1.0);
  bool trig = false;
  double minscale = std::numeric_limits<double>::infinity(), first_nan = 0.0;
  bool min_nan = false;
  for (size_t k = 0; k < n; ++k) {
    o.norms[k] = tnorm(k);
    double sc = 1.0;
    if (op == GC_OP_CLIP_NORM || op == GC_OP_RENORMALIZE) {
      sc = canon(ref_scale(op, sem, o.norms[k], a));
      if (!std::isfinite(o.norms[k]) || std::isnan(sc)) trig = true;
    } else if (op == GC_OP_CLIP_GLOBAL_NORM) {
      sc = gscale;
    }
    o.scales[k] = sc;
    if (std::isnan(sc) && !min_nan) { min_nan = true; first_nan = sc; }  // the first NaN scale, its bits
    else minscale = std::min(minscale, sc);
  }
  if (op == GC_OP_NORMS) trig = !std::isfinite(total);
  if (op == GC_OP_CLIP_GLOBAL_NORM) trig = !std::isfinite(total) || std::isnan(gscale);
  const bool block = trig && pol != GC_NONFINITE_PROPAGATE;
  int64_t clipped = 0;
  if (op != GC_OP_NORMS && !block)
    for (size_t k = 0; k < n; ++k)
      if (ref_applied(o.scales[k], ts[k].dtype) != 1.0) {
        clipped += ts[k].count;
        ref_scale_tensor(ts[k], o.scales[k]);
      }
  if (block) o.scales.assign(n, 1.0);  // ERROR/SKIP: nothing applied, every scale reads 1
  o.summary[0] = total;
  o.summary[1] = block ? 1.0 : op == GC_OP_CLIP_GLOBAL_NORM ? gscale
                 : (op == GC_OP_NORMS || n == 0) ? 1.0
                 : min_nan ? first_nan : minscale;
  o.counts[0] = clipped;
  o.counts[1] = nf;
  o.counts[2] = block && pol == GC_NONFINITE_SKIP ? 1 : 0;
  o.rc = block && pol == GC_NONFINITE_ERROR ? GC_ERR_NONFINITE : GC_OK;
  return o;
}

}  // namespace gcref
