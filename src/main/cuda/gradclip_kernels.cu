// gradclip_kernels.cu - the multi-tensor kernels of gradclip and their launch plans.
//
// Compiled by nvcc for the CUDA backend, and by g++ (through src/main/cpp/emu/kernels_emu.cpp, against
// the emulation layer) for the emulated backend. One chunk table walk per kernel: chunk = up to 65,536
// elements of ONE tensor, one block of 256 threads per chunk (grid-stride over chunks), thread t owns
// lanes 4t..4t+3 and handles elements start + 1024k + 4t + {0,1,2,3} (vector load when aligned).
// No floating-point atomics anywhere: every partial has its own slot, every fold has a fixed order.
#include "gc_numeric.cuh"

namespace gc {

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ double* res_summary(const GcDev& D) { return reinterpret_cast<double*>(D.result + kResSummary); }
__device__ __forceinline__ int64_t* res_counts(const GcDev& D) { return reinterpret_cast<int64_t*>(D.result + kResCounts); }
__device__ __forceinline__ int64_t* res_status(const GcDev& D) { return reinterpret_cast<int64_t*>(D.result + kResStatus); }
__device__ __forceinline__ double* res_norms(const GcDev& D) { return reinterpret_cast<double*>(D.result + kResNorms); }
__device__ __forceinline__ double* res_scales(const GcDev& D, int64_t n) { return res_norms(D) + n; }

// ======================================================================================================
// Norm partials: P[c] = fold1024(term(x) for x in chunk c), lane j <- elements j, j+1024, ... (ascending);
//                nonfinite[c] = #{x in chunk c : x is NaN or +-inf}
// ======================================================================================================
template <class T, int PK>
__device__ void norm_chunk(const T* x, int64_t start, int64_t end, double p, double div, double* out, int64_t* out_nf) {
  double L[4] = {0.0, 0.0, 0.0, 0.0};
  long long nf = 0;
  const bool vec = vec_aligned(x);
  for (int64_t i = start + 4 * static_cast<int64_t>(threadIdx.x); i < end; i += kLanes) {
    T v[4];
    const int m = load4(x, i, end, vec, v);
    for (int q = 0; q < m; ++q) {
      const double d = widen(v[q]);
      nf += is_finite(d) ? 0 : 1;
      L[q] = comb<PK>(L[q], term<PK>(PK == PK_GEN ? fabs(d) / div : d, p));
    }
  }
  const double r = block_fold_count<PK>(L[0], L[1], L[2], L[3], nf);
  if (threadIdx.x == 0) { *out = r; *out_nf = nf; }
}

template <class T>
__device__ void norm_chunk_p(const GcParams& P, const T* x, int64_t start, int64_t end, double div, double* out, int64_t* out_nf) {
  switch (P.pkind) {
    case PK_1: norm_chunk<T, PK_1>(x, start, end, P.p, 1.0, out, out_nf); break;
    case PK_2: norm_chunk<T, PK_2>(x, start, end, P.p, 1.0, out, out_nf); break;
    case PK_INF: norm_chunk<T, PK_INF>(x, start, end, P.p, 1.0, out, out_nf); break;
    default: norm_chunk<T, PK_GEN>(x, start, end, P.p, div, out, out_nf); break;
  }
}

__global__ void __launch_bounds__(kThreads) norm_partials_kernel(GcParams P, GcDev D) {
  for (int64_t c = blockIdx.x; c < P.nchunks; c += gridDim.x) {
    const GcChunk ch = D.chunks[c];
    const GcTensor t = D.tensors[ch.tensor];
    const int64_t end = min64(ch.start + kChunk, t.count);
    // general p scaled by max|x| (docs/canonical-reduction.md): a tensor whose max is 0, NaN or inf has
    // +0.0 partials (its norm is its max); block-uniform branch
    const double div = D.tdiv ? D.tdiv[ch.tensor] : 1.0;
    if (P.pkind == PK_GEN && D.tdiv && !(is_finite(div) && div > 0.0)) {
      if (threadIdx.x == 0) { D.partial[c] = 0.0; D.chunk_nonfin[c] = 0; }
      continue;
    }
    switch (t.dtype) {  // block-uniform
      case 0: norm_chunk_p(P, reinterpret_cast<const float*>(t.addr), ch.start, end, div, D.partial + c, D.chunk_nonfin + c); break;
      case 1: norm_chunk_p(P, reinterpret_cast<const double*>(t.addr), ch.start, end, div, D.partial + c, D.chunk_nonfin + c); break;
      case 2: norm_chunk_p(P, reinterpret_cast<const F16*>(t.addr), ch.start, end, div, D.partial + c, D.chunk_nonfin + c); break;
      default: norm_chunk_p(P, reinterpret_cast<const BF16*>(t.addr), ch.start, end, div, D.partial + c, D.chunk_nonfin + c); break;
    }
  }
}

// ======================================================================================================
// Tensor sums: S[t] = fold1024(P[t][0], P[t][1], ...) (chunk c -> lane c mod 1024);
//              nonfinite[t] = sum over the tensor's chunks
// ======================================================================================================
template <int PK> __device__ void fold_tensor(const GcDev& D, int64_t t) {
  const GcTensor tt = D.tensors[t];
  const int64_t m = (tt.count + kChunk - 1) / kChunk;
  const double* part = D.partial + tt.chunk0;
  double L[4] = {0.0, 0.0, 0.0, 0.0};
  for (int64_t i = 4 * static_cast<int64_t>(threadIdx.x); i < m; i += kLanes)
    for (int q = 0; q < 4; ++q)
      if (i + q < m) L[q] = comb<PK>(L[q], part[i + q]);
  long long nf = 0;
  for (int64_t i = threadIdx.x; i < m; i += kThreads) nf += D.chunk_nonfin[tt.chunk0 + i];
  const double r = block_fold_count<PK>(L[0], L[1], L[2], L[3], nf);
  if (threadIdx.x == 0) { D.tsum[t] = r; D.tnonfin[t] = nf; }
}

__global__ void __launch_bounds__(kThreads) fold_tensors_kernel(GcParams P, GcDev D) {
  for (int64_t t = blockIdx.x; t < P.n; t += gridDim.x) {
    switch (P.pkind) {
      case PK_INF: fold_tensor<PK_INF>(D, t); break;
      default: fold_tensor<PK_1>(D, t); break;  // PK_1, PK_2, PK_GEN all combine with +
    }
  }
}

// ======================================================================================================
// Finalize (one block): S = fold1024(S[0..n)) (tensor t -> lane t mod 1024), norms, scales, policy.
//   TORCH:  c = M / (N + 1e-6); scale = isnan(c) ? c : min(c, 1)
//   TF:     scale = isfinite(N) ? M / max(N, M) : NaN
//   RENORM: scale = 1 / (N == 0 ? 1e-5 : N)
// ======================================================================================================
__device__ __forceinline__ double scale_for(int32_t op, int32_t sem, double N, double M) {
  if (op == 4) return 1.0 / (N == 0.0 ? 1e-5 : N);  // GC_OP_RENORMALIZE
  if (sem == 0) {                                    // GC_SEMANTICS_TORCH
    const double c = M / (N + 1e-6);
    return is_nan(c) ? c : (c < 1.0 ? c : 1.0);
  }
  if (!is_finite(N)) return qnan();                  // GC_SEMANTICS_TF
  if (N == 0.0 && M == 0.0) return 1.0;              // defined as 1 (TF and Optax write NaN here)
  return M / (N > M ? N : M);
}
// The scale a tensor actually gets: (float) scale for fp32/fp16/bf16 storage, scale for fp64.
__device__ __forceinline__ double applied_scale(double scale, int32_t dtype) {
  return dtype == 1 ? scale : static_cast<double>(static_cast<float>(scale));
}

template <int PK> __device__ void finalize_norms(const GcParams& P, const GcDev& D) {
  const int64_t n = P.n;
  const int tid = threadIdx.x;
  double L[4] = {0.0, 0.0, 0.0, 0.0};
  for (int64_t i = 4 * static_cast<int64_t>(tid); i < n; i += kLanes)
    for (int q = 0; q < 4; ++q)
      if (i + q < n) L[q] = comb<PK>(L[q], D.tsum[i + q]);
  long long nf = 0;
  for (int64_t t = tid; t < n; t += kThreads) nf += D.tnonfin[t];
  const double S = block_fold_count<PK>(L[0], L[1], L[2], L[3], nf);
  const long long nf_total = nf;

  __shared__ double sh_total_norm, sh_global_scale;
  if (tid == 0) {
    const double tn = finish<PK>(S, P.p);
    sh_total_norm = tn;
    sh_global_scale = P.op == 3 ? scale_for(3, P.semantics, tn, P.max_norm) : 1.0;
  }
  __syncthreads();
  const double total_norm = sh_total_norm, global_scale = sh_global_scale;

  double* norms = res_norms(D);
  double* scales = res_scales(D, n);
  long long clipped = 0, trig = 0;
  double min_scale = bits_f64(0x7ff0000000000000ull);  // +inf: the identity of min
  for (int64_t t = tid; t < n; t += kThreads) {
    const double nt = finish<PK>(D.tsum[t], P.p);
    double sc = 1.0;
    if (P.op == 2 || P.op == 4) { sc = scale_for(P.op, P.semantics, nt, P.max_norm); trig += is_finite(nt) ? 0 : 1; }
    else if (P.op == 3) sc = global_scale;
    norms[t] = nt;
    scales[t] = sc;
    const GcTensor tt = D.tensors[t];
    if (applied_scale(sc, tt.dtype) != 1.0) clipped += tt.count;
    if (!is_nan(min_scale)) min_scale = is_nan(sc) ? sc : (sc < min_scale ? sc : min_scale);
  }
  block_sum2_i64(clipped, trig);
  const long long clipped_total = clipped, trig_total = trig;
  const double min_total = block_nanmin(min_scale);
  __shared__ int sh_stopped;
  if (tid == 0) {
    const bool writes = P.op != 1;
    // a NaN global scale follows the policy like a non-finite norm
    const bool trigger = P.op == 3 ? (!is_finite(total_norm) || is_nan(global_scale))
                       : P.op == 1 ? !is_finite(total_norm) : trig_total > 0;
    int64_t status = kStatusOk, skipped = 0, cl = writes ? clipped_total : 0;
    if (trigger && P.policy != 0) {
      status = P.policy == 1 ? kStatusError : kStatusSkip;
      skipped = P.policy == 2 ? 1 : 0;
      cl = 0;
    }
    sh_stopped = status != kStatusOk;
    double* sum = res_summary(D);
    sum[0] = total_norm;
    sum[1] = status != kStatusOk ? 1.0 : P.op == 3 ? global_scale : (P.op == 1 || n == 0) ? 1.0 : min_total;
    int64_t* cnt = res_counts(D);
    cnt[0] = cl; cnt[1] = nf_total; cnt[2] = skipped;
    *res_status(D) = status;
  }
  __syncthreads();
  if (sh_stopped)  // ERROR/SKIP stopped the operation: nothing is applied, every scale reads 1
    for (int64_t t = tid; t < n; t += kThreads) scales[t] = 1.0;
}

__global__ void __launch_bounds__(kThreads) finalize_norms_kernel(GcParams P, GcDev D) {
  switch (P.pkind) {
    case PK_1: finalize_norms<PK_1>(P, D); break;
    case PK_2: finalize_norms<PK_2>(P, D); break;
    case PK_INF: finalize_norms<PK_INF>(P, D); break;
    default: finalize_norms<PK_GEN>(P, D); break;
  }
}

// ======================================================================================================
// Scale: y = store(float(x) * s32) (fp32/fp16/bf16, s32 = (float) scale), y = x * scale (fp64).
// When s32 is not a normal float (0, subnormal, inf: the fp64 scale did not fit), the product is taken in
// fp64 and rounded once: y = store((float)((double) x * scale)).
// Reads the scale on the device; does nothing when the status says skip/error or the applied scale is 1.
// ======================================================================================================
// NaN rule (docs/canonical-reduction.md): a NaN element keeps its bits, quieted; a NaN product of a
// non-NaN element (NaN scale, +-inf * 0) is the positive canonical quiet NaN of the storage type.
__device__ __forceinline__ float widemul(float x, double s) { return static_cast<float>(static_cast<double>(x) * s); }
__device__ __forceinline__ float mul(float x, double s, float s32, bool wide) {
  if (x != x) return bits_f32(f32_bits(x) | 0x00400000u);
  const float y = wide ? widemul(x, s) : x * s32;
  return y != y ? bits_f32(0x7fc00000u) : y;
}
__device__ __forceinline__ double mul(double x, double s, float, bool) {
  if (is_nan(x)) return bits_f64(f64_bits(x) | 0x0008000000000000ull);
  const double y = x * s;
  return is_nan(y) ? qnan() : y;
}
__device__ __forceinline__ F16 mul(F16 x, double s, float s32, bool wide) {
  if ((x.bits & 0x7fffu) > 0x7c00u) return F16{static_cast<uint16_t>(x.bits | 0x0200u)};
  const float f = f16_to_f32(x.bits);
  const float y = wide ? widemul(f, s) : f * s32;
  return F16{y != y ? static_cast<uint16_t>(0x7e00u) : f32_to_f16(y)};
}
__device__ __forceinline__ BF16 mul(BF16 x, double s, float s32, bool wide) {
  if ((x.bits & 0x7fffu) > 0x7f80u) return BF16{static_cast<uint16_t>(x.bits | 0x0040u)};
  const float f = bf16_to_f32(x.bits);
  const float y = wide ? widemul(f, s) : f * s32;
  return BF16{y != y ? static_cast<uint16_t>(0x7fc0u) : f32_to_bf16(y)};
}
// NaN counts as normal (it propagates either way); 0, subnormal and infinite fp32 scales do not.
__device__ __forceinline__ bool is_normal_f32(float s) {
  const float a = s < 0.0f ? -s : s;
  return s != s || (a >= 1.17549435e-38f && a <= 3.40282347e+38f);
}

template <class T> __device__ void scale_chunk(T* x, int64_t start, int64_t end, double s, float s32) {
  const bool vec = vec_aligned(x);
  const bool wide = !is_normal_f32(s32);
  for (int64_t i = start + 4 * static_cast<int64_t>(threadIdx.x); i < end; i += kLanes) {
    T v[4];
    const int m = load4(x, i, end, vec, v);
    for (int q = 0; q < m; ++q) v[q] = mul(v[q], s, s32, wide);
    store4(x, i, m, vec, v);
  }
}

__global__ void __launch_bounds__(kThreads) scale_kernel(GcParams P, GcDev D) {
  if (*res_status(D) != kStatusOk) return;
  const double* scales = res_scales(D, P.n);
  if (P.op == 3 && P.n > 0 && scales[0] == 1.0) return;  // global scale exactly 1: read once, never written
  for (int64_t c = blockIdx.x; c < P.nchunks; c += gridDim.x) {
    const GcChunk ch = D.chunks[c];
    const GcTensor t = D.tensors[ch.tensor];
    const double s = scales[ch.tensor];
    const float s32 = static_cast<float>(s);
    if (applied_scale(s, t.dtype) == 1.0) continue;  // this tensor is not written
    const int64_t end = min64(ch.start + kChunk, t.count);
    switch (t.dtype) {
      case 0: scale_chunk(reinterpret_cast<float*>(t.addr), ch.start, end, s, s32); break;
      case 1: scale_chunk(reinterpret_cast<double*>(t.addr), ch.start, end, s, s32); break;
      case 2: scale_chunk(reinterpret_cast<F16*>(t.addr), ch.start, end, s, s32); break;
      default: scale_chunk(reinterpret_cast<BF16*>(t.addr), ch.start, end, s, s32); break;
    }
  }
}

// ======================================================================================================
// Clip by value, exactly torch.clamp on the CPU: t = x < lo ? lo : x; y = hi < t ? hi : t
//   (NaN compares false and stays as it is; a value equal to a bound, -0.0 against +0.0, is kept).
//   clipped[c] = #{x < lo || x > hi}, nonfinite[c] = #{x NaN or +-inf}; bounds pre-rounded to the type.
//   Only vectors holding a clipped element are stored.
// ======================================================================================================
__device__ __forceinline__ float cval(float x) { return x; }
__device__ __forceinline__ double cval(double x) { return x; }
__device__ __forceinline__ float cval(F16 x) { return f16_to_f32(x.bits); }
__device__ __forceinline__ float cval(BF16 x) { return bf16_to_f32(x.bits); }

template <class T> __device__ void clip_chunk(T* x, int64_t start, int64_t end, T lo, T hi, bool write,
                                              int64_t* out_clipped, int64_t* out_nf) {
  const auto lo_c = cval(lo), hi_c = cval(hi);
  long long clipped = 0, nf = 0;
  const bool vec = vec_aligned(x);
  for (int64_t i = start + 4 * static_cast<int64_t>(threadIdx.x); i < end; i += kLanes) {
    T v[4];
    const int m = load4(x, i, end, vec, v);
    bool changed = false;
    for (int q = 0; q < m; ++q) {
      const auto c = cval(v[q]);
      if (c != c) { ++nf; continue; }                 // NaN stays as it is
      nf += is_finite(static_cast<double>(c)) ? 0 : 1;
      if (c < lo_c) { v[q] = lo; ++clipped; changed = true; }
      else if (hi_c < c) { v[q] = hi; ++clipped; changed = true; }
    }
    if (write && changed) store4(x, i, m, vec, v);
  }
  block_sum2_i64(clipped, nf);
  if (threadIdx.x == 0) { *out_clipped = clipped; *out_nf = nf; }
}

// write = 0: counting pre-pass (ERROR/SKIP). check = 1: do nothing if the finalize set skip/error.
__global__ void __launch_bounds__(kThreads) clip_value_kernel(GcParams P, GcDev D, int write, int check) {
  if (check && *res_status(D) != kStatusOk) return;
  for (int64_t c = blockIdx.x; c < P.nchunks; c += gridDim.x) {
    const GcChunk ch = D.chunks[c];
    const GcTensor t = D.tensors[ch.tensor];
    const int64_t end = min64(ch.start + kChunk, t.count);
    int64_t* cl = D.chunk_clipped + c;
    int64_t* nf = D.chunk_nonfin + c;
    switch (t.dtype) {
      case 0: clip_chunk(reinterpret_cast<float*>(t.addr), ch.start, end, P.lo32, P.hi32, write != 0, cl, nf); break;
      case 1: clip_chunk(reinterpret_cast<double*>(t.addr), ch.start, end, P.lo64, P.hi64, write != 0, cl, nf); break;
      case 2: clip_chunk(reinterpret_cast<F16*>(t.addr), ch.start, end, F16{P.lo16}, F16{P.hi16}, write != 0, cl, nf); break;
      default: clip_chunk(reinterpret_cast<BF16*>(t.addr), ch.start, end, BF16{P.lobf}, BF16{P.hibf}, write != 0, cl, nf); break;
    }
  }
}

// Finalize counts (one block): clipped = sum clipped[c], nonfinite = sum nonfinite[c]; policy; norms 0, scales 1.
__global__ void __launch_bounds__(kThreads) finalize_counts_kernel(GcParams P, GcDev D) {
  long long cl = 0, nf = 0;
  for (int64_t c = threadIdx.x; c < P.nchunks; c += kThreads) { cl += D.chunk_clipped[c]; nf += D.chunk_nonfin[c]; }
  double* norms = res_norms(D);
  double* scales = res_scales(D, P.n);
  for (int64_t t = threadIdx.x; t < P.n; t += kThreads) { norms[t] = 0.0; scales[t] = 1.0; }
  block_sum2_i64(cl, nf);
  const long long cls = cl, nfs = nf;
  if (threadIdx.x == 0) {
    int64_t status = kStatusOk, skipped = 0, clipped = cls;
    if (nfs > 0 && P.policy != 0) {
      status = P.policy == 1 ? kStatusError : kStatusSkip;
      skipped = P.policy == 2 ? 1 : 0;
      clipped = 0;
    }
    double* sum = res_summary(D);
    sum[0] = 0.0; sum[1] = 1.0;
    int64_t* cnt = res_counts(D);
    cnt[0] = clipped; cnt[1] = nfs; cnt[2] = skipped;
    *res_status(D) = status;
  }
}

// ======================================================================================================
// Launch plans
// ======================================================================================================
static unsigned grid_for(int64_t work, unsigned cap) {
  return work < static_cast<int64_t>(cap) ? static_cast<unsigned>(work) : cap;
}

cudaError_t launch_norms(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  if (P.nchunks > 0) GC_LAUNCH(norm_partials_kernel, grid_for(P.nchunks, cap), kThreads, s, P, D);
  if (P.n > 0) GC_LAUNCH(fold_tensors_kernel, grid_for(P.n, cap), kThreads, s, P, D);
  GC_LAUNCH(finalize_norms_kernel, 1, kThreads, s, P, D);
  if (P.op != 1 && P.nchunks > 0) GC_LAUNCH(scale_kernel, grid_for(P.nchunks, cap), kThreads, s, P, D);
  return cudaGetLastError();
}

cudaError_t launch_scale(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  if (P.nchunks > 0) GC_LAUNCH(scale_kernel, grid_for(P.nchunks, cap), kThreads, s, P, D);
  return cudaGetLastError();
}

cudaError_t launch_clip_value(const GcParams& P, const GcDev& D, unsigned cap, cudaStream_t s) {
  if (P.policy == 0) {  // PROPAGATE: one fused pass, then the counts
    if (P.nchunks > 0) GC_LAUNCH(clip_value_kernel, grid_for(P.nchunks, cap), kThreads, s, P, D, 1, 0);
    GC_LAUNCH(finalize_counts_kernel, 1, kThreads, s, P, D);
  } else {              // ERROR/SKIP: count, decide on the device, then clamp unless told not to
    if (P.nchunks > 0) GC_LAUNCH(clip_value_kernel, grid_for(P.nchunks, cap), kThreads, s, P, D, 0, 0);
    GC_LAUNCH(finalize_counts_kernel, 1, kThreads, s, P, D);
    if (P.nchunks > 0) GC_LAUNCH(clip_value_kernel, grid_for(P.nchunks, cap), kThreads, s, P, D, 1, 1);
  }
  return cudaGetLastError();
}

}  // namespace gc
