// gc_numeric.cuh - storage types, exact conversions (fp16/bf16 <-> fp32, round-to-nearest-even),
// norm terms and the canonical 1,024-lane block fold. Host and device (nvcc and the emulation layer).
#pragma once
#include <stdint.h>
#include <string.h>
#include <math.h>
#include "gc_launch.h"
#if defined(__CUDACC__) && !defined(GC_EMULATED)
#include <cuda_fp16.h>
#endif

#define GC_HD __host__ __device__ __forceinline__
#ifdef GC_EMULATED
#define GC_UNROLL _Pragma("GCC unroll 8")
#else
#define GC_UNROLL _Pragma("unroll")
#endif

// Static shared memory: `GC_SHARED(T, name, N)` declares `T name[N]` in __shared__ memory. The
// emulation layer poisons it (0xff bytes: NaN, -1) the first time a block touches it, as a GPU's
// shared memory holds garbage at block start; plain `__shared__` must not be used in the kernels.
#ifdef GC_EMULATED
#define GC_SHARED(T, name, N) \
  static thread_local T name[N]; \
  gc_emu::shared_touch(name, sizeof(name))
#else
#define GC_SHARED(T, name, N) __shared__ T name[N]
#endif

namespace gc {

// ---- bit casts -------------------------------------------------------------------------------------
GC_HD uint32_t f32_bits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u; memcpy(&u, &f, 4); return u;
#endif
}
GC_HD float bits_f32(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f; memcpy(&f, &u, 4); return f;
#endif
}
GC_HD uint64_t f64_bits(double d) {
#ifdef __CUDA_ARCH__
  return static_cast<uint64_t>(__double_as_longlong(d));
#else
  uint64_t u; memcpy(&u, &d, 8); return u;
#endif
}
GC_HD double bits_f64(uint64_t u) {
#ifdef __CUDA_ARCH__
  return __longlong_as_double(static_cast<long long>(u));
#else
  double d; memcpy(&d, &u, 8); return d;
#endif
}
GC_HD bool is_nan(double x) { return (f64_bits(x) & 0x7fffffffffffffffull) > 0x7ff0000000000000ull; }
GC_HD bool is_finite(double x) { return (f64_bits(x) & 0x7ff0000000000000ull) != 0x7ff0000000000000ull; }
GC_HD double qnan() { return bits_f64(0x7ff8000000000000ull); }

// ---- fp16 / bf16 ------------------------------------------------------------------------------------
struct F16 { uint16_t bits; };
struct BF16 { uint16_t bits; };

// binary16 -> fp32, exact. Subnormals: m * 2^-24 (exact in fp32). Software version (host, emulation,
// tests); the kernels use h2f()/f2h() below, which are the hardware conversion on a GPU.
GC_HD float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return bits_f32(sign | 0x7f800000u | (m << 13));       // inf, NaN (payload kept)
  if (e == 0) return bits_f32(sign | f32_bits(static_cast<float>(m) * 5.9604644775390625e-8f));
  return bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}
// fp32 -> binary16, round to nearest, ties to even; overflow -> inf; NaN -> quiet NaN.
GC_HD uint16_t f32_to_f16(float f) {
  const uint32_t x = f32_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x1ffu));
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);   // >= 65520 (incl. inf)
  if (ax >= 0x38800000u) {                                               // normal: >= 2^-14
    uint32_t h = (((ax >> 23) - 112u) << 10) | ((ax >> 13) & 0x3ffu);
    const uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;              // carry may bump the exponent
    return static_cast<uint16_t>(sign | h);
  }
  const uint32_t e = ax >> 23;                                           // subnormal result, unit 2^-24
  if (e < 102u) return static_cast<uint16_t>(sign);                      // < 2^-25: rounds to 0
  const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;                                       // 14..24
  uint32_t h = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}
GC_HD float bf16_to_f32(uint16_t b) { return bits_f32(static_cast<uint32_t>(b) << 16); }

// Kernel conversions: one cvt instruction on a GPU (cvt.f32.f16 is exact; cvt.rn.f16.f32 rounds to
// nearest even with overflow to inf and gradual underflow, exactly what f32_to_f16 computes), the
// software versions in the emulation. Callers never pass a NaN to f2h (the NaN rule writes NaN bits).
GC_HD float h2f(uint16_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h));
#else
  return f16_to_f32(h);
#endif
}
GC_HD uint16_t f2h(float f) {
#if defined(__CUDA_ARCH__)
  return __half_as_ushort(__float2half_rn(f));
#else
  return f32_to_f16(f);
#endif
}
// Finiteness on raw bits (no conversion).
GC_HD bool finite_bits(float x) { return (f32_bits(x) & 0x7f800000u) != 0x7f800000u; }
GC_HD bool finite_bits(double x) { return is_finite(x); }
// fp32 -> bfloat16, round to nearest, ties to even; NaN -> quiet NaN.
GC_HD uint16_t f32_to_bf16(float f) {
  const uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

GC_HD bool finite_bits(F16 x) { return (x.bits & 0x7c00u) != 0x7c00u; }
GC_HD bool finite_bits(BF16 x) { return (x.bits & 0x7f80u) != 0x7f80u; }

// Element -> fp64 (exact for every storage type).
GC_HD double widen(float x) { return static_cast<double>(x); }
GC_HD double widen(double x) { return x; }
GC_HD double widen(F16 x) { return static_cast<double>(h2f(x.bits)); }
GC_HD double widen(BF16 x) { return static_cast<double>(bf16_to_f32(x.bits)); }

// ---- terms and the combine operator ------------------------------------------------------------------
// term: |d| (p=1, p=inf), d*d (p=2), pow(|d| / m, p) otherwise (m = the tensor's max|x|, finite > 0;
// docs/canonical-reduction.md, "General p").
template <int PK> GC_HD double term(double d, double p, double m) {
  if (PK == PK_2) return d * d;
  if (PK == PK_GEN) return pow(fabs(d) / m, p);
  (void)p;
  (void)m;
  return fabs(d);
}
// combine: a + b; p=inf: nanmax(a, b) = a if a is NaN, else b if b is NaN, else the larger.
template <int PK> GC_HD double comb(double a, double b) {
  if (PK == PK_INF) {
    if (is_nan(a)) return a;
    if (is_nan(b)) return b;
    return a > b ? a : b;
  }
  return a + b;
}
// norm from a folded sum: S (p=1, inf), sqrt(S) (p=2). General p: see gen_norm.
template <int PK> GC_HD double finish(double s) {
  if (PK == PK_2) return sqrt(s);
  return s;
}
// General p: m = max|x| (or M = max m_t), s = the folded scaled sum: m if m is 0, NaN or inf, else m * s^(1/p).
GC_HD bool gen_special(double m) { return m == 0.0 || !is_finite(m); }
GC_HD double gen_norm(double m, double s, double p) { return gen_special(m) ? m : m * pow(s, 1.0 / p); }

// ---- the canonical block reduction (docs/canonical-reduction.md), one template for every use -------
// A reduction operator R provides: a value type V, R::comb(a, b) (a = the lower-indexed operand),
// R::shfl(v, off) (= __shfl_down_sync of every member), R::identity().
// block_reduce<R>(v): called by all kThreads threads in uniform code with thread t's value; returns the
// result in thread 0: warp tree with offsets 16, 8, 4, 2, 1, then the tree 4, 2, 1 over the 8 warps.
constexpr int kWarps = kThreads / 32;

template <class R> __device__ __forceinline__ typename R::V warp_reduce(typename R::V v) {
  GC_UNROLL
  for (int off = 16; off >= 1; off >>= 1) v = R::comb(v, R::shfl(v, off));
  return v;
}

template <class R> __device__ __forceinline__ typename R::V block_reduce(typename R::V v) {
  GC_SHARED(typename R::V, part, kWarps);
  v = warp_reduce<R>(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // earlier readers of `part` are done
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kWarps ? part[lane] : R::identity();
    GC_UNROLL
    for (int off = kWarps / 2; off >= 1; off >>= 1) v = R::comb(v, R::shfl(v, off));
  }
  return v;
}

__device__ __forceinline__ double shfl64(double v, int off) { return __shfl_down_sync(0xffffffffu, v, off); }
__device__ __forceinline__ long long shfl64(long long v, int off) { return __shfl_down_sync(0xffffffffu, v, off); }

// The canonical fold of the thread sums T[t] = (L0 + L1) + (L2 + L3), with an exact count alongside.
template <int PK> struct FoldCount {
  struct V { double s; long long n; };
  static __device__ __forceinline__ V comb(V a, V b) { return V{gc::comb<PK>(a.s, b.s), a.n + b.n}; }
  static __device__ __forceinline__ V shfl(V a, int off) { return V{shfl64(a.s, off), shfl64(a.n, off)}; }
  static __device__ __forceinline__ V identity() { return V{0.0, 0}; }
};
// The canonical fold of doubles alone (comb<PK>).
template <int PK> struct Fold {
  using V = double;
  static __device__ __forceinline__ V comb(V a, V b) { return gc::comb<PK>(a, b); }
  static __device__ __forceinline__ V shfl(V a, int off) { return shfl64(a, off); }
  static __device__ __forceinline__ V identity() { return 0.0; }
};
// An exact integer sum.
struct SumI64 {
  using V = long long;
  static __device__ __forceinline__ V comb(V a, V b) { return a + b; }
  static __device__ __forceinline__ V shfl(V a, int off) { return shfl64(a, off); }
  static __device__ __forceinline__ V identity() { return 0; }
};
// Two exact integer sums.
struct SumI64x2 {
  struct V { long long a, b; };
  static __device__ __forceinline__ V comb(V x, V y) { return V{x.a + y.a, x.b + y.b}; }
  static __device__ __forceinline__ V shfl(V x, int off) { return V{shfl64(x.a, off), shfl64(x.b, off)}; }
  static __device__ __forceinline__ V identity() { return V{0, 0}; }
};
// NaN-propagating minimum that returns the NaN (or, on ties, the value) with the lowest index: the same
// bits as a serial scan in index order, whatever the tree shape.
struct NanMinIdx {
  struct V { double v; long long i; };
  static __device__ __forceinline__ V comb(V a, V b) {
    const bool an = is_nan(a.v), bn = is_nan(b.v);
    if (an || bn) return (an && (!bn || a.i < b.i)) ? a : b;
    if (a.v < b.v) return a;
    if (b.v < a.v) return b;
    return a.i <= b.i ? a : b;
  }
  static __device__ __forceinline__ V shfl(V a, int off) { return V{shfl64(a.v, off), shfl64(a.i, off)}; }
  static __device__ __forceinline__ V identity() { return V{bits_f64(0x7ff0000000000000ull), 0x7fffffffffffffffll}; }
};

// Canonical fold of four lanes per thread with a count: returns the block's fold in thread 0.
template <int PK> __device__ __forceinline__ double block_fold_count(double l0, double l1, double l2, double l3, long long& count) {
  typename FoldCount<PK>::V v{comb<PK>(comb<PK>(l0, l1), comb<PK>(l2, l3)), count};
  v = block_reduce<FoldCount<PK>>(v);
  count = v.n;
  return v.s;
}

// The canonical fold of v[0..m) by ONE warp (lane = threadIdx.x & 31); result in lane 0. Lane l plays
// the threads 32w + l (w = 0..7) of the block fold: their lanes 4(32w + l) + q, ascending.
template <int PK> __device__ __forceinline__ double warp_fold(const double* v, int64_t m, int lane) {
  if (m == 1) return v[0];  // fold of one value: ((v + 0) + (0 + 0)) + 0 ... = v (terms are >= 0 or NaN)
  double W[kWarps];
  GC_UNROLL
  for (int w = 0; w < kWarps; ++w) {
    W[w] = 0.0;
    if (static_cast<int64_t>(4 * 32 * w) < m) {  // warp-uniform: all-empty lanes fold to +0.0
      const int64_t base = 4 * static_cast<int64_t>(32 * w + lane);
      double L[4] = {0.0, 0.0, 0.0, 0.0};
      for (int64_t i = base; i < m; i += kLanes) {
        GC_UNROLL
        for (int q = 0; q < 4; ++q)
          if (i + q < m) L[q] = comb<PK>(L[q], v[i + q]);
      }
      W[w] = warp_reduce<Fold<PK>>(comb<PK>(comb<PK>(L[0], L[1]), comb<PK>(L[2], L[3])));
    }
  }
  GC_UNROLL
  for (int off = kWarps / 2; off >= 1; off >>= 1)
    GC_UNROLL
    for (int k = 0; k < off; ++k) W[k] = comb<PK>(W[k], W[k + off]);
  return W[0];
}

// ---- element access: thread t handles elements i..i+3 (i = start + 4t + 1024k) ------------------------
template <class T> struct alignas(4 * sizeof(T)) Vec4 { T v[4]; };
template <class T> __device__ __forceinline__ bool vec_aligned(const T* x) {
  return (reinterpret_cast<uintptr_t>(x) % (4 * sizeof(T))) == 0;
}
// One aligned vector of four elements. On a GPU: ld.global.cs (streaming: the gradients are read once
// per pass, evict-first), 16 B for fp32, 2 x 16 B for fp64, 8 B for fp16/bf16. Tensor addresses come
// from integers, so without the intrinsic the compiler could only emit generic loads.
template <class T> __device__ __forceinline__ void load_vec(const T* p, T (&v)[4]) {
  const Vec4<T> w = *reinterpret_cast<const Vec4<T>*>(p);
  GC_UNROLL
  for (int q = 0; q < 4; ++q) v[q] = w.v[q];
}
#if defined(__CUDA_ARCH__)
template <> __device__ __forceinline__ void load_vec(const float* p, float (&v)[4]) {
  const float4 w = __ldcs(reinterpret_cast<const float4*>(p));
  v[0] = w.x; v[1] = w.y; v[2] = w.z; v[3] = w.w;
}
template <> __device__ __forceinline__ void load_vec(const double* p, double (&v)[4]) {
  const double2 a = __ldcs(reinterpret_cast<const double2*>(p)), b = __ldcs(reinterpret_cast<const double2*>(p) + 1);
  v[0] = a.x; v[1] = a.y; v[2] = b.x; v[3] = b.y;
}
__device__ __forceinline__ void load_vec16(const uint16_t* p, uint16_t (&h)[4]) {
  const uint2 w = __ldcs(reinterpret_cast<const uint2*>(p));
  h[0] = static_cast<uint16_t>(w.x & 0xffffu); h[1] = static_cast<uint16_t>(w.x >> 16);
  h[2] = static_cast<uint16_t>(w.y & 0xffffu); h[3] = static_cast<uint16_t>(w.y >> 16);
}
template <> __device__ __forceinline__ void load_vec(const F16* p, F16 (&v)[4]) {
  uint16_t h[4];
  load_vec16(reinterpret_cast<const uint16_t*>(p), h);
  GC_UNROLL
  for (int q = 0; q < 4; ++q) v[q].bits = h[q];
}
template <> __device__ __forceinline__ void load_vec(const BF16* p, BF16 (&v)[4]) {
  uint16_t h[4];
  load_vec16(reinterpret_cast<const uint16_t*>(p), h);
  GC_UNROLL
  for (int q = 0; q < 4; ++q) v[q].bits = h[q];
}
#endif

// Four elements [i, i+4): one vector load when the tensor is aligned, else four scalar loads.
template <class T> __device__ __forceinline__ void load_full(const T* x, int64_t i, bool vec, T (&v)[4]) {
  if (vec) {
    load_vec(x + i, v);
  } else {
    GC_UNROLL
    for (int q = 0; q < 4; ++q) v[q] = x[i + q];
  }
}
template <class T> __device__ __forceinline__ void store_full(T* x, int64_t i, bool vec, const T (&v)[4]) {
  if (vec) {
    Vec4<T> w;
    GC_UNROLL
    for (int q = 0; q < 4; ++q) w.v[q] = v[q];
    *reinterpret_cast<Vec4<T>*>(x + i) = w;
  } else {
    GC_UNROLL
    for (int q = 0; q < 4; ++q) x[i + q] = v[q];
  }
}
// Elements [i, min(i + 4, end)), 1..4 of them; the rest of v is left as it is.
template <class T> __device__ __forceinline__ int load_tail(const T* x, int64_t i, int64_t end, T (&v)[4]) {
  const int m = end - i < 4 ? static_cast<int>(end - i) : 4;
  GC_UNROLL
  for (int q = 0; q < 4; ++q)
    if (q < m) v[q] = x[i + q];
  return m;
}
template <class T> __device__ __forceinline__ void store_tail(T* x, int64_t i, int m, const T (&v)[4]) {
  GC_UNROLL
  for (int q = 0; q < 4; ++q)
    if (q < m) x[i + q] = v[q];
}

// Loads in flight per thread per step: 64 bytes (fp32: 4 x 16 B, fp64: 2 x 32 B, fp16/bf16: 8 x 8 B).
template <class T> struct Unroll { static constexpr int value = 64 / (4 * static_cast<int>(sizeof(T))); };

// Streams the elements [start, end) of one chunk through this thread: f(v, m, i) for the groups
// i = start + 4t + 1024k in ascending k (m = valid elements, 4 except in the tail). U full groups are
// loaded before any is passed on (independent loads in flight); the order seen by f is unchanged, so
// the accumulation order (and every bit) is the same as one group at a time.
// If Write, f may modify v and returns true when the group must be stored.
// (U: groups in flight; general-p kernels, bound by pow, use 1 and keep their registers.)
template <class T, bool Write, int U = Unroll<T>::value, class X, class F>
__device__ __forceinline__ void stream_chunk(X* x, int64_t start, int64_t end, F& f) {
  const bool vec = vec_aligned(x);
  int64_t i = start + 4 * static_cast<int64_t>(threadIdx.x);
  for (; i + (U - 1) * kLanes + 4 <= end; i += U * kLanes) {
    T v[U][4];
    GC_UNROLL
    for (int u = 0; u < U; ++u) load_full(x, i + u * kLanes, vec, v[u]);
    GC_UNROLL
    for (int u = 0; u < U; ++u) {
      const bool st = f(v[u], 4, i + u * kLanes);
      if (Write && st) store_full(const_cast<T*>(x), i + u * kLanes, vec, v[u]);
    }
  }
  for (; i < end; i += kLanes) {
    T v[4] = {};
    const bool full = i + 4 <= end;
    int m = 4;
    if (full) load_full(x, i, vec, v);
    else m = load_tail(x, i, end, v);
    const bool st = f(v, m, i);
    if (Write && st) {
      if (full) store_full(const_cast<T*>(x), i, vec, v);
      else store_tail(const_cast<T*>(x), i, m, v);
    }
  }
}

}  // namespace gc
