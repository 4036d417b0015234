// cpu_api.cpp - the entry points of libgradclip-cpu: argument checks, the walk over a range of chunks,
// and the choice of the instruction-set path (once, at first use; GRADCLIP_CPU_ISA or gccpu_set_isa()
// override it). Dispatch is one indirect call per chunk through a table of the kernels compiled for that
// path (the same idea as PyTorch's DispatchStub / simdjson's implementation table: compile every variant,
// pick by cpuid at run time, never execute an instruction the CPU lacks).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include "cpu_internal.h"

namespace gccpu {
namespace {

bool cpu_has(int isa) {
  switch (isa) {
    case GCCPU_ISA_SCALAR: return true;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case GCCPU_ISA_AVX2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
             __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
    case GCCPU_ISA_AVX512:
      // libgcc also checks XCR0 (the OS saves the zmm/k state) before reporting avx512*
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && cpu_has(GCCPU_ISA_AVX2);
#endif
    default: return false;
  }
}

const KernelTable* table_for(int isa) {
  switch (isa) {
#if defined(__x86_64__)
    case GCCPU_ISA_AVX512: return &kAvx512Table;
    case GCCPU_ISA_AVX2: return &kAvx2Table;
#endif
    default: return &kScalarTable;
  }
}

int best_isa() {
  if (cpu_has(GCCPU_ISA_AVX512)) return GCCPU_ISA_AVX512;
  if (cpu_has(GCCPU_ISA_AVX2)) return GCCPU_ISA_AVX2;
  return GCCPU_ISA_SCALAR;
}

// The initial path: the best one, or GRADCLIP_CPU_ISA when it names a path this CPU has.
int initial_isa() {
  int isa = best_isa();
  const char* env = std::getenv("GRADCLIP_CPU_ISA");
  if (env != nullptr) {
    int want = -1;
    if (std::strcmp(env, "scalar") == 0) want = GCCPU_ISA_SCALAR;
    else if (std::strcmp(env, "avx2") == 0) want = GCCPU_ISA_AVX2;
    else if (std::strcmp(env, "avx512") == 0) want = GCCPU_ISA_AVX512;
    if (want >= 0 && cpu_has(want)) isa = want;
  }
  return isa;
}

std::atomic<const KernelTable*>& active() {
  static std::atomic<const KernelTable*> a{table_for(initial_isa())};
  return a;
}

int64_t chunks_of(int64_t count) { return count / GCCPU_CHUNK + (count % GCCPU_CHUNK != 0 ? 1 : 0); }

int elem_size(int32_t dtype) { return dtype == GCCPU_F64 ? 8 : dtype == GCCPU_F32 ? 4 : 2; }

// Checks a table and a range; GCCPU_OK when every chunk of the range exists and every tensor is usable.
int check_range(const gccpu_tensor* t, int64_t nt, int64_t first, int64_t nchunks) {
  if (nt < 0 || first < 0 || nchunks < 0) return GCCPU_ERR_INVALID_ARGUMENT;
  if (nchunks == 0) return GCCPU_OK;
  if (t == nullptr || nt == 0) return GCCPU_ERR_INVALID_ARGUMENT;
  int64_t avail = 0;
  for (int64_t i = 0; i < nt; ++i) {
    const gccpu_tensor& x = t[i];
    if (x.count < 0 || x.dtype < GCCPU_F32 || x.dtype > GCCPU_BF16) return GCCPU_ERR_INVALID_ARGUMENT;
    if (x.count > 0 && x.data == nullptr) return GCCPU_ERR_INVALID_ARGUMENT;
    if (reinterpret_cast<uintptr_t>(x.data) % static_cast<uintptr_t>(elem_size(x.dtype)) != 0) return GCCPU_ERR_INVALID_ARGUMENT;
    if (x.count > INT64_MAX / 8) return GCCPU_ERR_INVALID_ARGUMENT;  // no byte offset may overflow
    avail += chunks_of(x.count);
    if (i == 0) {
      if (first > avail) return GCCPU_ERR_INVALID_ARGUMENT;
      avail -= first;
    }
    if (avail >= nchunks) return GCCPU_OK;
  }
  return GCCPU_ERR_INVALID_ARGUMENT;
}

// Many small tensors: the hardware prefetchers stop at every 4 KiB page and ramp up again slowly, so a
// walk over 10,000 tensors of 1,000 fp32 waited about a memory latency at the start of each one
// (bench/NOTES.md item 9). The kernels prefetch GCCPU_STREAM_AHEAD_BYTES ahead of every line they work on,
// and past the chunk's end when the walk says so (`ahead`, cpu_internal.h): for every chunk but the last
// of a tensor's part in the range, and for that one when the next part visited follows it in memory
// (starts at most kAdjacentGapBytes after its end: heap arrays allocated one after another, views of one
// buffer, small mallocs). A next part that lies elsewhere has its first kPrefetchBytesPerTensor bytes
// prefetched by the walk (Heads) when the walk reaches the last chunk of the parts before it, until
// kPrefetchAheadBytes lie ahead. A prefetch never faults and changes no result (bench/NOTES.md item 35).
//
// The walk visits a range's tensors in blocks of kVisitBlock, each block in table order when every part
// follows the one before it in memory, else in the order of their addresses. A JVM's collector copies an
// array of arrays' elements in reverse order, in runs (10,000 float[1000] after a collection: 64 % of
// them adjacent in descending order, the rest in runs of either order; item 35), and walked in table
// order those tensors rarely follow one another. Every result is stored by chunk index (norm partials)
// or is element-wise (clamp, scale), and the tensors of a call do not overlap (gradclip_cpu.h), so the
// order of the visits changes no bit.
constexpr int64_t kPrefetchBytesPerTensor = 4096;
constexpr int64_t kPrefetchAheadBytes = 8192;
constexpr uintptr_t kAdjacentGapBytes = 256;
constexpr int kVisitBlock = 128;

// Chunks [k0, k1) of tensor ti, the first of them chunk c0 of the range.
struct Visit {
  int64_t ti, k0, k1, c0;
};
// The address of element min(k * GCCPU_CHUNK, count) of x.
inline uintptr_t chunk_address(const gccpu_tensor& x, int64_t k) {
  const int64_t e = k * GCCPU_CHUNK < x.count ? k * GCCPU_CHUNK : x.count;
  return reinterpret_cast<uintptr_t>(x.data) + static_cast<uintptr_t>(e * elem_size(x.dtype));
}
inline uintptr_t begin_of(const gccpu_tensor* t, const Visit& v) { return chunk_address(t[v.ti], v.k0); }
inline uintptr_t end_of(const gccpu_tensor* t, const Visit& v) { return chunk_address(t[v.ti], v.k1); }
// True when b's bytes start at most kAdjacentGapBytes after a's end (the kernels' own prefetch reaches them).
inline bool follows(const gccpu_tensor* t, const Visit& a, const Visit& b) {
  const uintptr_t end = end_of(t, a), start = begin_of(t, b);
  return start >= end && start - end <= kAdjacentGapBytes;
}

// The first bytes of the next visits of a block that do not follow the visit before them.
class Heads {
 public:
  // Called before the last chunk of visit j of the block v[0, m).
  void before_last_chunk(const gccpu_tensor* t, const Visit* v, int m, int j) {
    for (; reached_ < j; ++reached_)  // forget the visits the walk has reached
      if (reached_ + 1 <= last_) bytes_ -= head_bytes(t, v[reached_ + 1]);
    if (last_ < j) last_ = j;
    while (bytes_ < kPrefetchAheadBytes && last_ + 1 < m) {
      ++last_;
      const int64_t n = head_bytes(t, v[last_]);
      if (!follows(t, v[last_ - 1], v[last_])) {
        const uintptr_t a = begin_of(t, v[last_]);
        for (int64_t o = 0; o < n; o += 64) __builtin_prefetch(reinterpret_cast<const void*>(a + o), 1, 3);
      }
      bytes_ += n;
    }
  }

 private:
  static int64_t head_bytes(const gccpu_tensor* t, const Visit& v) {
    const int64_t b = static_cast<int64_t>(end_of(t, v) - begin_of(t, v));
    return b < kPrefetchBytesPerTensor ? b : kPrefetchBytesPerTensor;
  }
  int reached_ = 0;  // the visit of the last call
  int last_ = 0;     // visits (reached_, last_] are prefetched: bytes_ bytes
  int64_t bytes_ = 0;
};

// Calls f(chunk index in the range, tensor index, tensor, start, len, ahead) once for every chunk of a
// checked range (ahead and the order: see above).
template <class F> void walk(const gccpu_tensor* t, int64_t first, int64_t nchunks, F&& f) {
  Visit v[kVisitBlock];
  int64_t ti = 0, k = first, c = 0;
  while (c < nchunks) {
    int m = 0;
    for (; m < kVisitBlock && c < nchunks; ++m) {
      while (k >= chunks_of(t[ti].count)) {
        ++ti;
        k = 0;
      }
      const int64_t left = chunks_of(t[ti].count) - k;
      const int64_t take = left < nchunks - c ? left : nchunks - c;
      v[m] = Visit{ti, k, k + take, c};
      c += take;
      k += take;
    }
    bool in_order = true;
    for (int j = 0; j + 1 < m && in_order; ++j) in_order = follows(t, v[j], v[j + 1]);
    if (!in_order) std::sort(v, v + m, [t](const Visit& a, const Visit& b) { return begin_of(t, a) < begin_of(t, b); });
    Heads heads;
    for (int j = 0; j < m; ++j) {
      const gccpu_tensor& x = t[v[j].ti];
      for (int64_t kk = v[j].k0; kk < v[j].k1; ++kk) {
        const int64_t start = kk * GCCPU_CHUNK;
        const int64_t rest = x.count - start;
        bool next_follows = true;  // the tensor's next chunk
        if (kk + 1 == v[j].k1) {
          heads.before_last_chunk(t, v, m, j);
          next_follows = j + 1 < m && follows(t, v[j], v[j + 1]);
        }
        f(v[j].c0 + (kk - v[j].k0), v[j].ti, x, start, static_cast<int32_t>(rest < GCCPU_CHUNK ? rest : GCCPU_CHUNK),
          next_follows ? static_cast<int32_t>(GCCPU_STREAM_AHEAD_BYTES) : 0);
      }
    }
  }
}

bool is_finite(double d) { return d - d == 0.0; }

}  // namespace
}  // namespace gccpu

using namespace gccpu;

extern "C" {

GCCPU_API int gccpu_norms(const gccpu_tensor* tensors, int64_t ntensors, int64_t first_chunk, int64_t nchunks,
                          int32_t kind, double* partials, int64_t* nonfinite) {
  if (kind != GCCPU_NORM_L1 && kind != GCCPU_NORM_L2 && kind != GCCPU_NORM_INF) return GCCPU_ERR_INVALID_ARGUMENT;
  if (nonfinite == nullptr || (nchunks > 0 && partials == nullptr)) return GCCPU_ERR_INVALID_ARGUMENT;
  const int rc = check_range(tensors, ntensors, first_chunk, nchunks);
  if (rc != GCCPU_OK) return rc;
  const KernelTable* k = active().load(std::memory_order_relaxed);
  int64_t nf = 0;
  walk(tensors, first_chunk, nchunks, [&](int64_t c, int64_t, const gccpu_tensor& t, int64_t start, int32_t len, int32_t ahead) {
    const double s = k->chunk_sum(t.data, t.dtype, start, len, kind, ahead);
    partials[c] = s;
    // a finite sum of the terms proves every element finite; count only the other chunks
    if (!is_finite(s)) nf += k->count_nonfinite(t.data, t.dtype, start, len);
  });
  *nonfinite += nf;
  return GCCPU_OK;
}

GCCPU_API int gccpu_count_nonfinite(const gccpu_tensor* tensors, int64_t ntensors, int64_t first_chunk,
                                    int64_t nchunks, int64_t* nonfinite) {
  if (nonfinite == nullptr) return GCCPU_ERR_INVALID_ARGUMENT;
  const int rc = check_range(tensors, ntensors, first_chunk, nchunks);
  if (rc != GCCPU_OK) return rc;
  const KernelTable* k = active().load(std::memory_order_relaxed);
  int64_t nf = 0;
  walk(tensors, first_chunk, nchunks, [&](int64_t, int64_t, const gccpu_tensor& t, int64_t start, int32_t len, int32_t) {
    nf += k->count_nonfinite(t.data, t.dtype, start, len);
  });
  *nonfinite += nf;
  return GCCPU_OK;
}

GCCPU_API int gccpu_clamp(const gccpu_tensor* tensors, int64_t ntensors, int64_t first_chunk, int64_t nchunks,
                          const gccpu_bounds* bounds, int64_t* counts) {
  if (bounds == nullptr || counts == nullptr) return GCCPU_ERR_INVALID_ARGUMENT;
  // NaN bounds or lo > hi are refused (the rule above assumes lo <= hi)
  if (!(bounds->lo64 <= bounds->hi64) || !(bounds->lo32 <= bounds->hi32)) return GCCPU_ERR_INVALID_ARGUMENT;
  const int rc = check_range(tensors, ntensors, first_chunk, nchunks);
  if (rc != GCCPU_OK) return rc;
  const KernelTable* k = active().load(std::memory_order_relaxed);
  int64_t clipped = 0, nf = 0, written = 0;
  walk(tensors, first_chunk, nchunks, [&](int64_t, int64_t, const gccpu_tensor& t, int64_t start, int32_t len, int32_t ahead) {
    written += k->clamp(t.data, t.dtype, start, len, bounds, &clipped, &nf, ahead);
  });
  counts[0] += clipped;
  counts[1] += nf;
  counts[2] += written;
  return GCCPU_OK;
}

GCCPU_API int gccpu_scale(const gccpu_tensor* tensors, int64_t ntensors, int64_t first_chunk, int64_t nchunks,
                          const double* scales, int64_t* written) {
  if (written == nullptr || (nchunks > 0 && scales == nullptr)) return GCCPU_ERR_INVALID_ARGUMENT;
  const int rc = check_range(tensors, ntensors, first_chunk, nchunks);
  if (rc != GCCPU_OK) return rc;
  const KernelTable* k = active().load(std::memory_order_relaxed);
  int64_t w = 0;
  walk(tensors, first_chunk, nchunks, [&](int64_t, int64_t ti, const gccpu_tensor& t, int64_t start, int32_t len, int32_t ahead) {
    const double s = scales[ti];
    const bool one = t.dtype == GCCPU_F64 ? s == 1.0 : static_cast<float>(s) == 1.0f;
    if (one) return;  // the applied scale is exactly 1: not touched
    k->scale(t.data, t.dtype, start, len, s, ahead);
    w += len;
  });
  *written += w;
  return GCCPU_OK;
}

GCCPU_API int gccpu_isa(void) { return active().load()->isa; }

GCCPU_API int gccpu_isa_supported(int32_t isa) { return cpu_has(isa) ? 1 : 0; }

GCCPU_API int gccpu_set_isa(int32_t isa) {
  if (isa < GCCPU_ISA_SCALAR || isa > GCCPU_ISA_AVX512) return GCCPU_ERR_INVALID_ARGUMENT;
  if (!cpu_has(isa)) return GCCPU_ERR_UNSUPPORTED;
  active().store(table_for(isa));
  return GCCPU_OK;
}

GCCPU_API const char* gccpu_isa_name(int32_t isa) {
  switch (isa) {
    case GCCPU_ISA_SCALAR: return "scalar";
    case GCCPU_ISA_AVX2: return "avx2";
    case GCCPU_ISA_AVX512: return "avx512";
    default: return "unknown";
  }
}

}  // extern "C"
