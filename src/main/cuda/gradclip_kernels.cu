// gradclip_kernels.cu - the multi-tensor kernels of gradclip and their launch plans.
//
// Compiled by nvcc for the CUDA backend, and by g++ (through emu/kernels_emu.cpp, against the emulation
// layer) for the emulated backend. Chunk = up to 65,536 elements of ONE tensor; one block of 256 threads
// per chunk (grid-stride over the chunk table, Apex-style for_each_chunk); thread t owns lanes
// 4t..4t+3 and handles elements start + 1024k + 4t + {0,1,2,3} (vector loads when aligned, 64 bytes
// in flight per thread). One kernel per (dtype, norm kind), launched per dtype present.
// No floating-point atomics anywhere: every partial has its own slot, every fold has a fixed order
// (docs/canonical-reduction.md).
#include "gc_numeric.cuh"

namespace gc {

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ double* res_summary(const GcDev& D) { return reinterpret_cast<double*>(D.result + kResSummary); }
__device__ __forceinline__ int64_t* res_counts(const GcDev& D) { return reinterpret_cast<int64_t*>(D.result + kResCounts); }
__device__ __forceinline__ int64_t* res_status(const GcDev& D) { return reinterpret_cast<int64_t*>(D.result + kResStatus); }
__device__ __forceinline__ double* res_norms(const GcDev& D) { return reinterpret_cast<double*>(D.result + kResNorms); }
__device__ __forceinline__ double* res_scales(const GcDev& D, int64_t n) { return res_norms(D) + n; }
__device__ __forceinline__ double* res_maxabs(const GcDev& D, int64_t n) { return res_norms(D) + 2 * n; }

template <class T> struct DtypeOf;
template <> struct DtypeOf<float> { static constexpr int value = 0; };
template <> struct DtypeOf<double> { static constexpr int value = 1; };
template <> struct DtypeOf<F16> { static constexpr int value = 2; };
template <> struct DtypeOf<BF16> { static constexpr int value = 3; };

// ======================================================================================================
// for_each_chunk: the chunks [cb, ce) of the (dtype-grouped) chunk table, grid-stride, one block each:
//   f(tensor, slot, x, start, end), slot = the canonical chunk index (block-uniform arguments).
// ======================================================================================================
template <class T, class F> __device__ __forceinline__ void for_each_chunk(const GcDev& D, int64_t cb, int64_t ce, F& f) {
  for (int64_t c = cb + blockIdx.x; c < ce; c += gridDim.x) {
    const GcChunk ch = D.chunks[c];
    const GcTensor t = D.tensors[ch.tensor];
    const int64_t slot = t.chunk0 + ch.start / kChunk;
    f(ch.tensor, slot, reinterpret_cast<T*>(t.addr), ch.start, min64(ch.start + kChunk, t.count));
  }
}

// ======================================================================================================
// Norm partials: P[c] = fold1024(term(x) for x in chunk c), lane j <- elements j, j+1024, ... (ascending);
//                nonfinite[c] = #{x in chunk c : x is NaN or +-inf} (not for PK_GEN: its max pass counted).
// PK_GEN: term = pow(|x| / m_t, p) with m_t = D.tmax[t]; a tensor with m_t 0, NaN or inf gets P = 0.
// ======================================================================================================
template <class T, int PK> struct NormElems {
  double L[4];
  unsigned nf;  // at most 256 per thread per chunk
  double p, m;
  __device__ __forceinline__ bool operator()(T (&v)[4], int cnt, int64_t) {
    GC_UNROLL
    for (int q = 0; q < 4; ++q)
      if (q < cnt) {
        if (PK != PK_GEN) nf += finite_bits(v[q]) ? 0u : 1u;
        L[q] = comb<PK>(L[q], term<PK>(widen(v[q]), p, m));
      }
    return false;
  }
};

template <class T, int PK>
__global__ void __launch_bounds__(kThreads) norm_partials_kernel(GcParams P, GcDev D, int64_t cb, int64_t ce) {
  auto body = [&](int64_t t, int64_t slot, const T* x, int64_t start, int64_t end) {
    double m = 1.0;
    if (PK == PK_GEN) {
      m = D.tmax[t];
      if (gen_special(m)) {  // block-uniform
        if (threadIdx.x == 0) D.partial[slot] = 0.0;
        return;
      }
    }
    NormElems<T, PK> f{{0.0, 0.0, 0.0, 0.0}, 0u, P.p, m};
    stream_chunk<T, false, PK == PK_GEN ? 1 : Unroll<T>::value>(x, start, end, f);
    long long nf = f.nf;
    const double r = block_fold_count<PK>(f.L[0], f.L[1], f.L[2], f.L[3], nf);
    if (threadIdx.x == 0) {
      D.partial[slot] = r;
      if (PK != PK_GEN) D.chunk_nonfin[slot] = nf;
    }
  };
  for_each_chunk<const T>(D, cb, ce, body);
}

// ======================================================================================================
// Tensor sums, one warp per tensor: out[t] = fold1024(P[t][0], P[t][1], ...) (chunk c -> lane c mod 1024;
// a single-chunk tensor's sum is its partial, an empty tensor's +0.0); tnonfin[t] = sum of its chunks'.
// ======================================================================================================
template <int PK> __global__ void __launch_bounds__(kThreads) fold_tensors_kernel(GcParams P, GcDev D, double* out, int count_nf) {
  const int lane = threadIdx.x & 31;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5); t < P.n; t += static_cast<int64_t>(gridDim.x) * kWarps) {
    const GcTensor tt = D.tensors[t];
    const int64_t m = (tt.count + kChunk - 1) / kChunk;  // warp-uniform
    const double r = m == 0 ? 0.0 : warp_fold<PK>(D.partial + tt.chunk0, m, lane);
    long long nf = 0;
    if (count_nf) {
      for (int64_t i = lane; i < m; i += 32) nf += D.chunk_nonfin[tt.chunk0 + i];
      nf = warp_reduce<SumI64>(nf);
    }
    if (lane == 0) {
      out[t] = r;
      if (count_nf) D.tnonfin[t] = nf;
    }
  }
}

// ======================================================================================================
// Scales (fp64, from a norm N and a threshold M):
//   TORCH:  c = M / (N + 1e-6); scale = isnan(c) ? c : min(c, 1)
//   TF:     scale = !isfinite(N) ? NaN : (N == 0 && M == 0) ? 1 : M / max(N, M)
//   RENORM: scale = 1 / (N == 0 ? 1e-5 : N)
// ======================================================================================================
__device__ __forceinline__ double scale_for(int32_t op, int32_t sem, double N, double M) {
  if (op == 4) return 1.0 / (N == 0.0 ? 1e-5 : N);  // GC_OP_RENORMALIZE
  if (sem == 0) {                                    // GC_SEMANTICS_TORCH
    const double c = M / (N + 1e-6);
    return is_nan(c) ? c : (c < 1.0 ? c : 1.0);
  }
  if (!is_finite(N)) return qnan();                  // GC_SEMANTICS_TF
  if (N == 0.0 && M == 0.0) return 1.0;              // max norm 0, norm 0: defined as 1 (TF/Optax write NaN)
  return M / (N > M ? N : M);
}
// Reported values (norms, scales, max|x|) that are NaN are the canonical quiet NaN: which NaN an fp64
// operation returns differs between compilers, x86, the JVM and GPUs (docs/canonical-reduction.md).
__device__ __forceinline__ double canon(double x) { return is_nan(x) ? qnan() : x; }
// The scale a tensor actually gets: (float) scale for fp32/fp16/bf16 storage, scale for fp64.
__device__ __forceinline__ double applied_scale(double scale, int32_t dtype) {
  return dtype == 1 ? scale : static_cast<double>(static_cast<float>(scale));
}

// Fold of v[0..n) over 1,024 lanes (value i -> lane i mod 1024), four lanes per thread, in thread 0.
template <int PK, class G> __device__ __forceinline__ double block_fold_of(int64_t n, G get, long long& count) {
  double L[4] = {0.0, 0.0, 0.0, 0.0};
  for (int64_t i = 4 * static_cast<int64_t>(threadIdx.x); i < n; i += kLanes) {
    GC_UNROLL
    for (int q = 0; q < 4; ++q)
      if (i + q < n) L[q] = comb<PK>(L[q], get(i + q));
  }
  return block_fold_count<PK>(L[0], L[1], L[2], L[3], count);
}

// Total (one block): S = fold1024(S[0..n)) (tensor t -> lane t mod 1024) -> total norm, global scale;
// the non-finite count. General p: M = nanmax-fold of m_t; total = M if M is 0, NaN or inf, else
// M * U^(1/p) with U = fold(u_t), u_t = m_t == 0 ? 0 : S_t * (m_t / M)^p.
template <int PK> __global__ void __launch_bounds__(kThreads) finalize_total_kernel(GcParams P, GcDev D) {
  const int64_t n = P.n;
  long long nf = 0;
  for (int64_t t = threadIdx.x; t < n; t += kThreads) nf += D.tnonfin[t];
  double total;
  if (PK != PK_GEN) {
    const double S = block_fold_of<PK>(n, [&](int64_t i) { return D.tsum[i]; }, nf);
    total = finish<PK>(S);
  } else {
    const double Mt = block_fold_of<PK_INF>(n, [&](int64_t i) { return D.tmax[i]; }, nf);
    GC_SHARED(double, shM, 1);
    if (threadIdx.x == 0) shM[0] = Mt;
    __syncthreads();
    const double M = shM[0];
    total = M;
    if (!gen_special(M)) {  // block-uniform
      long long none = 0;
      const double U = block_fold_of<PK_1>(n, [&](int64_t i) {
        const double m = D.tmax[i];
        return m == 0.0 ? 0.0 : D.tsum[i] * pow(m / M, P.p);
      }, none);
      total = M * pow(U, 1.0 / P.p);
    }
  }
  if (threadIdx.x == 0) {
    D.scalars[0] = canon(total);
    D.scalars[1] = canon(P.op == 3 ? scale_for(3, P.semantics, total, P.max_norm) : 1.0);
    res_counts(D)[1] = nf;
  }
}

// Per-tensor finalize (parallel, one thread per tensor): norms[t], scales[t], maxabs[t]; per block of
// 256 tensors: clipped elements (applied scale != 1), trigger count, the NaN-propagating min scale.
template <int PK> __global__ void __launch_bounds__(kThreads) finalize_tensors_kernel(GcParams P, GcDev D) {
  const int64_t n = P.n, nb = fin_blocks(n);
  double* norms = res_norms(D);
  double* scales = res_scales(D, n);
  double* maxabs = res_maxabs(D, n);
  for (int64_t b = blockIdx.x; b < nb; b += gridDim.x) {
    const int64_t t = b * kThreads + threadIdx.x;
    SumI64x2::V ct{0, 0};
    NanMinIdx::V mn = NanMinIdx::identity();
    if (t < n) {
      const double nt = canon(PK == PK_GEN ? gen_norm(D.tmax[t], D.tsum[t], P.p) : finish<PK>(D.tsum[t]));
      double sc = 1.0;
      if (P.op == 2 || P.op == 4) {
        sc = canon(scale_for(P.op, P.semantics, nt, P.max_norm));
        ct.b = (!is_finite(nt) || is_nan(sc)) ? 1 : 0;
      } else if (P.op == 3) {
        sc = D.scalars[1];
      }
      norms[t] = nt;
      scales[t] = sc;
      maxabs[t] = PK == PK_GEN ? canon(D.tmax[t]) : 0.0;
      const GcTensor tt = D.tensors[t];
      ct.a = applied_scale(sc, tt.dtype) != 1.0 ? tt.count : 0;
      mn = NanMinIdx::V{sc, t};
    }
    ct = block_reduce<SumI64x2>(ct);
    mn = block_reduce<NanMinIdx>(mn);
    if (threadIdx.x == 0) D.fin[b] = GcFinBlock{ct.a, ct.b, mn.i, mn.v};
  }
}

// Summary (one block): combine the per-block results, decide the policy, write the result block.
// ERROR/SKIP: nothing is applied, every scale reads 1.
__global__ void __launch_bounds__(kThreads) finalize_summary_kernel(GcParams P, GcDev D) {
  const int64_t n = P.n, nb = fin_blocks(n);
  SumI64x2::V ct{0, 0};
  NanMinIdx::V mn = NanMinIdx::identity();
  for (int64_t b = threadIdx.x; b < nb; b += kThreads) {
    const GcFinBlock f = D.fin[b];
    ct = SumI64x2::comb(ct, SumI64x2::V{f.clipped, f.trig});
    mn = NanMinIdx::comb(mn, NanMinIdx::V{f.min_scale, f.min_idx});
  }
  ct = block_reduce<SumI64x2>(ct);
  mn = block_reduce<NanMinIdx>(mn);
  GC_SHARED(int, sh_stopped, 1);
  if (threadIdx.x == 0) {
    const double total_norm = D.scalars[0], global_scale = D.scalars[1];
    const bool writes = P.op != 1;
    const bool trigger = P.op == 1 ? !is_finite(total_norm)
                       : P.op == 3 ? (!is_finite(total_norm) || is_nan(global_scale))
                                   : ct.b > 0;
    int64_t status = kStatusOk, skipped = 0, cl = writes ? ct.a : 0;
    if (trigger && P.policy != 0) {
      status = P.policy == 1 ? kStatusError : kStatusSkip;
      skipped = P.policy == 2 ? 1 : 0;
      cl = 0;
    }
    sh_stopped[0] = status != kStatusOk;
    double* sum = res_summary(D);
    sum[0] = total_norm;
    sum[1] = status != kStatusOk ? 1.0 : P.op == 3 ? global_scale : (P.op == 1 || n == 0) ? 1.0 : mn.v;
    int64_t* cnt = res_counts(D);
    cnt[0] = cl;
    cnt[2] = skipped;
    *res_status(D) = status;
  }
  __syncthreads();
  if (sh_stopped[0]) {
    double* scales = res_scales(D, n);
    for (int64_t t = threadIdx.x; t < n; t += kThreads) scales[t] = 1.0;
  }
}

// ======================================================================================================
// Scale: y = store(float(x) * s32) (fp32/fp16/bf16, s32 = (float) scale), y = x * scale (fp64).
// When s32 is not a normal float (0, subnormal, inf: the fp64 scale did not fit), the product is taken in
// fp64 and rounded once: y = store((float)((double) x * scale)).
// NaN rule: a NaN element keeps its bits, quieted; a NaN product (NaN scale, inf * 0) is the positive
// canonical quiet NaN of the storage type. Tensors whose applied scale is exactly 1 are not written.
// ======================================================================================================
__device__ __forceinline__ float widemul(float x, double s) { return static_cast<float>(static_cast<double>(x) * s); }
__device__ __forceinline__ float prod32(float x, double s, float s32, bool wide) { return wide ? widemul(x, s) : x * s32; }

__device__ __forceinline__ float scale_elem(float x, double s, float s32, bool wide) {
  const uint32_t b = f32_bits(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) return bits_f32(b | 0x00400000u);
  const float r = prod32(x, s, s32, wide);
  return r != r ? bits_f32(0x7fc00000u) : r;
}
__device__ __forceinline__ double scale_elem(double x, double s, float, bool) {
  const uint64_t b = f64_bits(x);
  if ((b & 0x7fffffffffffffffull) > 0x7ff0000000000000ull) return bits_f64(b | 0x0008000000000000ull);
  const double r = x * s;
  return r != r ? bits_f64(0x7ff8000000000000ull) : r;
}
__device__ __forceinline__ F16 scale_elem(F16 x, double s, float s32, bool wide) {
  if ((x.bits & 0x7fffu) > 0x7c00u) return F16{static_cast<uint16_t>(x.bits | 0x0200u)};
  const float r = prod32(h2f(x.bits), s, s32, wide);
  return F16{r != r ? static_cast<uint16_t>(0x7e00u) : f2h(r)};
}
__device__ __forceinline__ BF16 scale_elem(BF16 x, double s, float s32, bool wide) {
  if ((x.bits & 0x7fffu) > 0x7f80u) return BF16{static_cast<uint16_t>(x.bits | 0x0040u)};
  const float r = prod32(bf16_to_f32(x.bits), s, s32, wide);
  return BF16{r != r ? static_cast<uint16_t>(0x7fc0u) : f32_to_bf16(r)};
}
// NaN counts as normal (the NaN rule handles it); 0, subnormal and infinite fp32 scales do not.
__device__ __forceinline__ bool is_normal_f32(float s) {
  const float a = s < 0.0f ? -s : s;
  return s != s || (a >= 1.17549435e-38f && a <= 3.40282347e+38f);
}

template <class T> struct ScaleElems {
  double s;
  float s32;
  bool wide;
  __device__ __forceinline__ bool operator()(T (&v)[4], int cnt, int64_t) {
    GC_UNROLL
    for (int q = 0; q < 4; ++q)
      if (q < cnt) v[q] = scale_elem(v[q], s, s32, wide);
    return true;
  }
};

template <class T> __global__ void __launch_bounds__(kThreads) scale_kernel(GcParams P, GcDev D, int64_t cb, int64_t ce) {
  if (*res_status(D) != kStatusOk) return;
  const double* scales = res_scales(D, P.n);
  if (P.op == 3 && P.n > 0 && scales[0] == 1.0) return;  // global scale exactly 1: read once, never written
  auto body = [&](int64_t t, int64_t, T* x, int64_t start, int64_t end) {
    const double s = scales[t];
    if (applied_scale(s, DtypeOf<T>::value) == 1.0) return;  // this tensor is not written (block-uniform)
    const float s32 = static_cast<float>(s);
    ScaleElems<T> f{s, s32, !is_normal_f32(s32)};
    stream_chunk<T, true>(x, start, end, f);
  };
  for_each_chunk<T>(D, cb, ce, body);
}

// ======================================================================================================
// Clip by value, exactly torch.clamp on the CPU: t = x < lo ? lo : x; y = hi < t ? hi : t
//   (NaN compares false and stays as it is; a value equal to a bound, -0.0 against +0.0, is kept).
//   clipped[c] = #{x < lo || x > hi}, nonfinite[c] = #{x NaN or +-inf}; bounds pre-rounded to the type.
//   Only groups of four holding a clipped element are stored.
// ======================================================================================================
__device__ __forceinline__ float cval(float x) { return x; }
__device__ __forceinline__ double cval(double x) { return x; }
__device__ __forceinline__ float cval(F16 x) { return h2f(x.bits); }
__device__ __forceinline__ float cval(BF16 x) { return bf16_to_f32(x.bits); }

template <class T> struct ClipElems {
  T lo, hi;
  decltype(cval(T{})) lo_c, hi_c;
  unsigned clipped, nf;
  __device__ __forceinline__ bool operator()(T (&v)[4], int cnt, int64_t) {
    bool changed = false;
    GC_UNROLL
    for (int q = 0; q < 4; ++q)
      if (q < cnt) {
        nf += finite_bits(v[q]) ? 0u : 1u;
        const auto c = cval(v[q]);
        if (c < lo_c) { v[q] = lo; ++clipped; changed = true; }
        else if (hi_c < c) { v[q] = hi; ++clipped; changed = true; }
      }
    return changed;
  }
};

template <class T> __device__ __forceinline__ void clip_bounds(const GcParams& P, T& lo, T& hi);
template <> __device__ __forceinline__ void clip_bounds(const GcParams& P, float& lo, float& hi) { lo = P.lo32; hi = P.hi32; }
template <> __device__ __forceinline__ void clip_bounds(const GcParams& P, double& lo, double& hi) { lo = P.lo64; hi = P.hi64; }
template <> __device__ __forceinline__ void clip_bounds(const GcParams& P, F16& lo, F16& hi) { lo = F16{P.lo16}; hi = F16{P.hi16}; }
template <> __device__ __forceinline__ void clip_bounds(const GcParams& P, BF16& lo, BF16& hi) { lo = BF16{P.lobf}; hi = BF16{P.hibf}; }

// Write = false: counting pre-pass (ERROR/SKIP). check = 1: do nothing if the finalize set skip/error.
template <class T, bool Write>
__global__ void __launch_bounds__(kThreads) clip_value_kernel(GcParams P, GcDev D, int64_t cb, int64_t ce, int check) {
  if (check && *res_status(D) != kStatusOk) return;
  T lo, hi;
  clip_bounds(P, lo, hi);
  auto body = [&](int64_t, int64_t slot, T* x, int64_t start, int64_t end) {
    ClipElems<T> f{lo, hi, cval(lo), cval(hi), 0u, 0u};
    stream_chunk<T, Write>(x, start, end, f);
    SumI64x2::V v{f.clipped, f.nf};
    v = block_reduce<SumI64x2>(v);
    if (threadIdx.x == 0) { D.chunk_clipped[slot] = v.a; D.chunk_nonfin[slot] = v.b; }
  };
  for_each_chunk<T>(D, cb, ce, body);
}

// Finalize counts (one block): clipped = sum clipped[c], nonfinite = sum nonfinite[c]; policy; norms 0, scales 1.
__global__ void __launch_bounds__(kThreads) finalize_counts_kernel(GcParams P, GcDev D) {
  SumI64x2::V v{0, 0};
  for (int64_t c = threadIdx.x; c < P.nchunks; c += kThreads) { v.a += D.chunk_clipped[c]; v.b += D.chunk_nonfin[c]; }
  double* norms = res_norms(D);
  double* scales = res_scales(D, P.n);
  double* maxabs = res_maxabs(D, P.n);
  for (int64_t t = threadIdx.x; t < P.n; t += kThreads) { norms[t] = 0.0; scales[t] = 1.0; maxabs[t] = 0.0; }
  v = block_reduce<SumI64x2>(v);
  if (threadIdx.x == 0) {
    int64_t status = kStatusOk, skipped = 0, clipped = v.a;
    if (v.b > 0 && P.policy != 0) {
      status = P.policy == 1 ? kStatusError : kStatusSkip;
      skipped = P.policy == 2 ? 1 : 0;
      clipped = 0;
    }
    double* sum = res_summary(D);
    sum[0] = 0.0; sum[1] = 1.0;
    int64_t* cnt = res_counts(D);
    cnt[0] = clipped; cnt[1] = v.b; cnt[2] = skipped;
    *res_status(D) = status;
  }
}

// Marks the result block "ok" for launch_scale (scales were copied in by the host).
__global__ void __launch_bounds__(32) set_status_ok_kernel(GcDev D) {
  if (threadIdx.x == 0) *res_status(D) = kStatusOk;
}

// ======================================================================================================
// Launch plans
// ======================================================================================================
static unsigned grid_for(int64_t work, unsigned cap) {
#ifdef GC_EMULATED
  cap = gc_emu::grid_cap(cap);  // GC_EMU_GRID=full: the uncapped GPU grid
#endif
  return work < static_cast<int64_t>(cap) ? static_cast<unsigned>(work) : cap;
}

typedef void (*ChunkKernel)(GcParams, GcDev, int64_t, int64_t);
typedef void (*ClipKernel)(GcParams, GcDev, int64_t, int64_t, int);

// One launch per dtype present, each over its range of the chunk table.
static void launch_per_dtype(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s, const ChunkKernel (&k)[kDtypes]) {
  for (int d = 0; d < kDtypes; ++d) {
    const int64_t cb = P.dt_begin[d], ce = P.dt_begin[d + 1];
    if (ce <= cb) continue;
    const ChunkKernel kern = k[d];
    GC_LAUNCH(kern, grid_for(ce - cb, cap), kThreads, s, P, D, cb, ce);
  }
}

template <int PK> static void launch_partials(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  static const ChunkKernel k[kDtypes] = {norm_partials_kernel<float, PK>, norm_partials_kernel<double, PK>,
                                         norm_partials_kernel<F16, PK>, norm_partials_kernel<BF16, PK>};
  launch_per_dtype(P, D, cap, s, k);
}

template <int PK> static void launch_finalize(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  void (*total)(GcParams, GcDev) = finalize_total_kernel<PK>;
  void (*tens)(GcParams, GcDev) = finalize_tensors_kernel<PK>;
  GC_LAUNCH(total, 1, kThreads, s, P, D);
  if (P.n > 0) GC_LAUNCH(tens, grid_for(fin_blocks(P.n), cap), kThreads, s, P, D);
  GC_LAUNCH(finalize_summary_kernel, 1, kThreads, s, P, D);
}

static void launch_scale_pass(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  static const ChunkKernel k[kDtypes] = {scale_kernel<float>, scale_kernel<double>, scale_kernel<F16>, scale_kernel<BF16>};
  launch_per_dtype(P, D, cap, s, k);
}

cudaError_t launch_norms(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  const unsigned fold_grid = grid_for((P.n + kWarps - 1) / kWarps, cap);
  void (*fold_sum)(GcParams, GcDev, double*, int) = fold_tensors_kernel<PK_1>;
  void (*fold_max)(GcParams, GcDev, double*, int) = fold_tensors_kernel<PK_INF>;
  switch (P.pkind) {
    case PK_1: launch_partials<PK_1>(P, D, cap, s); break;
    case PK_2: launch_partials<PK_2>(P, D, cap, s); break;
    case PK_INF: launch_partials<PK_INF>(P, D, cap, s); break;
    default:  // general p: the max pass (with the non-finite counts), then the scaled power pass
      launch_partials<PK_INF>(P, D, cap, s);
      if (P.n > 0) GC_LAUNCH(fold_max, fold_grid, kThreads, s, P, D, D.tmax, 1);
      launch_partials<PK_GEN>(P, D, cap, s);
      break;
  }
  if (P.n > 0) {
    if (P.pkind == PK_INF) GC_LAUNCH(fold_max, fold_grid, kThreads, s, P, D, D.tsum, 1);
    else GC_LAUNCH(fold_sum, fold_grid, kThreads, s, P, D, D.tsum, P.pkind == PK_GEN ? 0 : 1);
  }
  switch (P.pkind) {
    case PK_1: launch_finalize<PK_1>(P, D, cap, s); break;
    case PK_2: launch_finalize<PK_2>(P, D, cap, s); break;
    case PK_INF: launch_finalize<PK_INF>(P, D, cap, s); break;
    default: launch_finalize<PK_GEN>(P, D, cap, s); break;
  }
  if (P.op != 1 && P.nchunks > 0) launch_scale_pass(P, D, cap, s);
  return cudaGetLastError();
}

cudaError_t launch_scale(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  GC_LAUNCH(set_status_ok_kernel, 1, 32, s, D);
  if (P.nchunks > 0) launch_scale_pass(P, D, cap, s);
  return cudaGetLastError();
}

cudaError_t launch_clip_value(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  static const ClipKernel count[kDtypes] = {clip_value_kernel<float, false>, clip_value_kernel<double, false>,
                                            clip_value_kernel<F16, false>, clip_value_kernel<BF16, false>};
  static const ClipKernel clamp[kDtypes] = {clip_value_kernel<float, true>, clip_value_kernel<double, true>,
                                            clip_value_kernel<F16, true>, clip_value_kernel<BF16, true>};
  auto pass = [&](const ClipKernel (&k)[kDtypes], int check) {
    for (int d = 0; d < kDtypes; ++d) {
      const int64_t cb = P.dt_begin[d], ce = P.dt_begin[d + 1];
      if (ce <= cb) continue;
      const ClipKernel kern = k[d];
      GC_LAUNCH(kern, grid_for(ce - cb, cap), kThreads, s, P, D, cb, ce, check);
    }
  };
  if (P.policy == 0) {  // PROPAGATE: one fused pass, then the counts
    pass(clamp, 0);
    GC_LAUNCH(finalize_counts_kernel, 1, kThreads, s, P, D);
  } else {              // ERROR/SKIP: count, decide on the device, then clamp unless told not to
    pass(count, 0);
    GC_LAUNCH(finalize_counts_kernel, 1, kThreads, s, P, D);
    pass(clamp, 1);
  }
  return cudaGetLastError();
}

}  // namespace gc
