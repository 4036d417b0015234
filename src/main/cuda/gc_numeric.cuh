// gc_numeric.cuh - storage types, exact conversions (fp16/bf16 <-> fp32, round-to-nearest-even),
// norm terms and the canonical 1,024-lane block fold. Host and device (nvcc and the emulation layer).
#pragma once
#include <stdint.h>
#include <string.h>
#include <math.h>
#include "gc_launch.h"

#define GC_HD __host__ __device__ __forceinline__

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

// binary16 -> fp32, exact. Subnormals: m * 2^-24 (exact in fp32).
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
// fp32 -> bfloat16, round to nearest, ties to even; NaN -> quiet NaN.
GC_HD uint16_t f32_to_bf16(float f) {
  const uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// Element -> fp64 (exact for every storage type).
GC_HD double widen(float x) { return static_cast<double>(x); }
GC_HD double widen(double x) { return x; }
GC_HD double widen(F16 x) { return static_cast<double>(f16_to_f32(x.bits)); }
GC_HD double widen(BF16 x) { return static_cast<double>(bf16_to_f32(x.bits)); }

// ---- terms and the combine operator ------------------------------------------------------------------
// term: |d| (p=1, p=inf), d*d (p=2), pow(|d|, p) otherwise.
template <int PK> GC_HD double term(double d, double p) {
  if (PK == PK_2) return d * d;
  if (PK == PK_GEN) return pow(fabs(d), p);
  (void)p;
  return fabs(d);
}
// combine: a + b; p=inf: nanmax(a, b) = NaN if either is NaN, else the larger.
template <int PK> GC_HD double comb(double a, double b) {
  if (PK == PK_INF) {
    if (is_nan(a)) return a;
    if (is_nan(b)) return b;
    return a > b ? a : b;
  }
  return a + b;
}
// norm from a folded sum: S (p=1, inf), sqrt(S) (p=2), pow(S, 1/p).
template <int PK> GC_HD double finish(double s, double p) {
  if (PK == PK_2) return sqrt(s);
  if (PK == PK_GEN) return pow(s, 1.0 / p);
  (void)p;
  return s;
}

// ---- canonical block fold (docs/canonical-reduction.md) ----------------------------------------------
// Called by all 256 threads (non-divergent). Thread t passes its lanes 4t..4t+3.
//   T[t] = (L0+L1)+(L2+L3); warp tree offsets 16,8,4,2,1; then warps W[0..8) by offsets 4,2,1.
// The result is valid in thread 0 only.
template <int PK> __device__ __forceinline__ double block_fold(double l0, double l1, double l2, double l3) {
  __shared__ double warp_res[kThreads / 32];
  double s = comb<PK>(comb<PK>(l0, l1), comb<PK>(l2, l3));
  for (int off = 16; off >= 1; off >>= 1) s = comb<PK>(s, __shfl_down_sync(0xffffffffu, s, off));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // earlier readers of warp_res are done
  if (lane == 0) warp_res[warp] = s;
  __syncthreads();
  if (warp == 0) {
    s = lane < kThreads / 32 ? warp_res[lane] : 0.0;
    for (int off = 4; off >= 1; off >>= 1) s = comb<PK>(s, __shfl_down_sync(0xffffffffu, s, off));
  }
  return s;
}

// The same fold with an int64 count summed alongside (one pair of barriers for both).
template <int PK> __device__ __forceinline__ double block_fold_count(double l0, double l1, double l2, double l3, long long& count) {
  __shared__ double warp_res[kThreads / 32];
  __shared__ long long warp_cnt[kThreads / 32];
  double s = comb<PK>(comb<PK>(l0, l1), comb<PK>(l2, l3));
  long long c = count;
  for (int off = 16; off >= 1; off >>= 1) {
    s = comb<PK>(s, __shfl_down_sync(0xffffffffu, s, off));
    c += __shfl_down_sync(0xffffffffu, c, off);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) { warp_res[warp] = s; warp_cnt[warp] = c; }
  __syncthreads();
  if (warp == 0) {
    s = lane < kThreads / 32 ? warp_res[lane] : 0.0;
    c = lane < kThreads / 32 ? warp_cnt[lane] : 0;
    for (int off = 4; off >= 1; off >>= 1) {
      s = comb<PK>(s, __shfl_down_sync(0xffffffffu, s, off));
      c += __shfl_down_sync(0xffffffffu, c, off);
    }
  }
  count = c;
  return s;
}

// Block sums of two int64 (exact). Results valid in thread 0 only.
__device__ __forceinline__ void block_sum2_i64(long long& a, long long& b) {
  __shared__ long long wa[kThreads / 32], wb[kThreads / 32];
  for (int off = 16; off >= 1; off >>= 1) {
    a += __shfl_down_sync(0xffffffffu, a, off);
    b += __shfl_down_sync(0xffffffffu, b, off);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) { wa[warp] = a; wb[warp] = b; }
  __syncthreads();
  if (warp == 0) {
    a = lane < kThreads / 32 ? wa[lane] : 0;
    b = lane < kThreads / 32 ? wb[lane] : 0;
    for (int off = 4; off >= 1; off >>= 1) {
      a += __shfl_down_sync(0xffffffffu, a, off);
      b += __shfl_down_sync(0xffffffffu, b, off);
    }
  }
}

// Block sum of an int64 (exact, order-free). Result valid in thread 0 only.
__device__ __forceinline__ long long block_sum_i64(long long v) {
  __shared__ long long warp_res[kThreads / 32];
  for (int off = 16; off >= 1; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) warp_res[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kThreads / 32 ? warp_res[lane] : 0;
    for (int off = 4; off >= 1; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  }
  return v;
}

// Block NaN-propagating minimum. Result valid in thread 0 only.
__device__ __forceinline__ double block_nanmin(double v) {
  __shared__ double vals[kThreads];
  __syncthreads();
  vals[threadIdx.x] = v;
  __syncthreads();
  if (threadIdx.x == 0)
    for (int i = 1; i < kThreads; ++i) {
      const double w = vals[i];
      if (is_nan(v)) break;
      v = is_nan(w) ? w : (w < v ? w : v);
    }
  return v;
}

// ---- element access: thread t handles elements i..i+3 (i = start + 4t + 1024k) ------------------------
template <class T> struct alignas(4 * sizeof(T)) Vec4 { T v[4]; };

// Loads up to 4 elements [i, min(i+4, end)): one vector load when the tensor is aligned, else scalar.
template <class T> __device__ __forceinline__ int load4(const T* x, int64_t i, int64_t end, bool vec, T (&v)[4]) {
  if (vec && i + 4 <= end) {
    const Vec4<T> w = *reinterpret_cast<const Vec4<T>*>(x + i);
    v[0] = w.v[0]; v[1] = w.v[1]; v[2] = w.v[2]; v[3] = w.v[3];
    return 4;
  }
  const int m = end - i < 4 ? static_cast<int>(end - i) : 4;
  for (int q = 0; q < m; ++q) v[q] = x[i + q];
  return m;
}
template <class T> __device__ __forceinline__ void store4(T* x, int64_t i, int m, bool vec, const T (&v)[4]) {
  if (vec && m == 4) {
    Vec4<T> w;
    w.v[0] = v[0]; w.v[1] = v[1]; w.v[2] = v[2]; w.v[3] = v[3];
    *reinterpret_cast<Vec4<T>*>(x + i) = w;
    return;
  }
  for (int q = 0; q < m; ++q) x[i + q] = v[q];
}
template <class T> __device__ __forceinline__ bool vec_aligned(const T* x) {
  return (reinterpret_cast<uintptr_t>(x) % (4 * sizeof(T))) == 0;
}

}  // namespace gc
