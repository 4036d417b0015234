// cpu_api.cpp - the entry points of libgradclip-cpu: argument checks, the walk over a range of chunks,
// and the choice of the instruction-set path (once, at first use; GRADCLIP_CPU_ISA or gccpu_set_isa()
// override it). Dispatch is one indirect call per chunk through a table of the kernels compiled for that
// path (the same idea as PyTorch's DispatchStub / simdjson's implementation table: compile every variant,
// pick by cpuid at run time, never execute an instruction the CPU lacks).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include "cpu_internal.h"

namespace gccpu {
namespace {

bool cpu_has(int isa) {
  switch (isa) {
    case GCCPU_ISA_SCALAR: return true;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case GCCPU_ISA_AVX2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("bmi2") &&
             __builtin_cpu_supports("popcnt");
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
// and past the chunk's end when the walk says so (`ahead`, cpu_internal.h): for every chunk but a
// tensor's last, and for a tensor's last when the next tensor follows it in memory (starts at most
// kAdjacentGapBytes after its end: heap arrays allocated one after another, views of one buffer, small
// mallocs), never past the range's last chunk. For a next tensor that lies elsewhere, whenever the walk
// reaches the last chunk of a tensor, the first kPrefetchBytesPerTensor bytes of the tensors after it are
// prefetched until kPrefetchAheadBytes lie ahead, never past the last chunk of the range (those tensors
// are the checked ones). A prefetch never faults and changes no result (bench/NOTES.md item 35).
constexpr int64_t kPrefetchBytesPerTensor = 4096;
constexpr int64_t kPrefetchAheadBytes = 8192;
constexpr uintptr_t kAdjacentGapBytes = 256;

// True when b starts at most kAdjacentGapBytes after a's last byte (the kernels' own prefetch reaches it).
inline bool follows(const gccpu_tensor& a, const gccpu_tensor& b) {
  const uintptr_t end = reinterpret_cast<uintptr_t>(a.data) + static_cast<uintptr_t>(a.count * elem_size(a.dtype));
  const uintptr_t start = reinterpret_cast<uintptr_t>(b.data);
  return start >= end && start - end <= kAdjacentGapBytes;
}

class Prefetcher {
 public:
  // Called before the chunk that ends tensor ti, with `left` chunks of the range after that one.
  void ahead_of(const gccpu_tensor* t, int64_t ti, int64_t left) {
    for (; walked_ < ti; ++walked_) {  // forget the tensors the walk has reached
      if (walked_ + 1 <= last_) {
        bytes_ -= head_bytes(t[walked_ + 1]);
        chunks_ -= chunks_of(t[walked_ + 1].count);
      }
    }
    if (last_ < ti) last_ = ti;
    while (bytes_ < kPrefetchAheadBytes && chunks_ < left) {
      const gccpu_tensor& n = t[++last_];
      const int64_t m = head_bytes(n);
      const uintptr_t a = reinterpret_cast<uintptr_t>(n.data);
      if (!follows(t[last_ - 1], n))
        for (int64_t o = 0; o < m; o += 64) __builtin_prefetch(reinterpret_cast<const void*>(a + o), 1, 3);
      bytes_ += m;
      chunks_ += chunks_of(n.count);
    }
  }

 private:
  static int64_t head_bytes(const gccpu_tensor& n) {
    const int64_t b = n.count < kPrefetchBytesPerTensor ? n.count * elem_size(n.dtype) : kPrefetchBytesPerTensor;
    return b < kPrefetchBytesPerTensor ? b : kPrefetchBytesPerTensor;
  }
  int64_t walked_ = 0;  // the tensor of the last call
  int64_t last_ = 0;    // tensors (walked_, last_] are prefetched: bytes_ bytes, chunks_ chunks
  int64_t bytes_ = 0;
  int64_t chunks_ = 0;
};

// Calls f(chunk index in the range, tensor index, tensor, start, len, ahead) for every chunk of a checked
// range, in order (ahead: see above).
template <class F> void walk(const gccpu_tensor* t, int64_t first, int64_t nchunks, F&& f) {
  int64_t ti = 0, k = first;
  Prefetcher heads;
  for (int64_t c = 0; c < nchunks; ++c, ++k) {
    while (k * GCCPU_CHUNK >= t[ti].count) { ++ti; k = 0; }
    const int64_t start = k * GCCPU_CHUNK;
    const int64_t rest = t[ti].count - start;
    const bool last_of_range = c + 1 == nchunks;
    bool next_follows = !last_of_range;
    if (rest <= GCCPU_CHUNK) {
      heads.ahead_of(t, ti, nchunks - c - 1);
      next_follows = !last_of_range && follows(t[ti], t[ti + 1]);
    }
    f(c, ti, t[ti], start, static_cast<int32_t>(rest < GCCPU_CHUNK ? rest : GCCPU_CHUNK),
      next_follows ? static_cast<int32_t>(GCCPU_STREAM_AHEAD_BYTES) : 0);
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
